"""Rollup service configuration (TOML), validated once at load time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from iotgw.devices import load_config
from iotgw.devices.links import Frozen, RegistryLink, migrate_registry_url
from iotgw.tsdb.config import InfluxConfig
from pydantic import Field, model_validator


class RollupConfig(Frozen):

    version: Literal[1] = 1
    influx: InfluxConfig = InfluxConfig()
    registry: RegistryLink = RegistryLink()
    # How often `rollup run` looks for hours that received data (late data included).
    interval_s: Annotated[float, Field(gt=0)] = 300.0
    # A counter's first step in an hour is taken from its last reading up to this far back.
    counter_lookback_h: Annotated[float, Field(gt=0, le=24 * 31)] = 24.0
    # Hours marked up to this long before a run are looked at again by the next one:
    # covers clock skew between ingest hosts and writes still in flight.
    grace_s: Annotated[float, Field(ge=0)] = 120.0
    # InfluxQL statements a run sends at once: influxd runs each on about one core, so
    # this is at most the cores InfluxDB may take from what else it serves.
    query_workers: Annotated[int, Field(ge=1, le=32)] = 2
    # Devices whose hours (then days) are computed, held and written together: the
    # rollup holds about 50 KiB per device of a group, and sends a set of statements per group.
    devices_per_query: Annotated[int, Field(ge=1, le=100_000)] = 1_000
    catalogue: Path | None = None  # default: the catalogue shipped in rollup/

    _migrate = model_validator(mode="before")(migrate_registry_url)


def load_rollup_config(path: Path) -> RollupConfig:
    """Raises: ConfigError naming the file, the key and the line."""
    return load_config(path, RollupConfig)
