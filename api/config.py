"""API service configuration (TOML), validated once at load time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from iotgw.devices import Host, load_config
from iotgw.devices.links import Frozen, RegistryLink, migrate_registry_url
from iotgw.tsdb.config import InfluxConfig
from limits import parse_many
from pydantic import AfterValidator, Field, model_validator


def _rate_limit(value: str) -> str:
    """A limit the rate limiter can parse, or "" (or "0") for none: refused at load time,
    not at the first request."""
    if value == "0":
        return ""
    if value:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"not a rate limit: {value!r} (e.g. \"600/minute\", or \"\" for none)") from None
    return value


RateLimit = Annotated[str, AfterValidator(_rate_limit)]


class ApiConfig(Frozen):

    version: Literal[1] = 1
    host: Host = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    influx: InfluxConfig = InfluxConfig()
    registry: RegistryLink = RegistryLink()
    # Aggregates over fewer households than this are suppressed for anyone but the
    # household's own province (a meter's readings are personal data).
    suppress_below: Annotated[int, Field(ge=1)] = 5
    # Longest range of a device's readings per resolution, in days (bounded queries).
    max_days_raw: Annotated[int, Field(ge=1)] = 7
    max_days_hour: Annotated[int, Field(ge=1)] = 92
    max_days_day: Annotated[int, Field(ge=1)] = 3 * 366
    usage_flush_s: Annotated[float, Field(gt=0)] = 1.0
    # Coverage and indicator values change only when the rollup runs (every few minutes):
    # computed views are reused for this long. 0 computes every request anew.
    cache_s: Annotated[float, Field(ge=0)] = 30.0
    # A token once checked is trusted this long without asking the registry again: a
    # revoked token keeps working for up to this long. 0 checks every request.
    token_cache_s: Annotated[float, Field(ge=0)] = 5.0
    # /v1/gateways reads heartbeats of this many days back only: a gateway silent for
    # longer shows its registry's last-seen and no health numbers.
    health_window_days: Annotated[int, Field(ge=1, le=3660)] = 30
    # Requests per bearer token across all routes, and per client address on the open
    # data routes (no token there), in the ``limits`` notation ("600/minute",
    # "10/second;600/hour"). "" or "0" turns that limit off. Over it: 429 with Retry-After.
    rate_limit: RateLimit = "600/minute"
    open_data_rate_limit: RateLimit = "60/minute"
    # Open data publishes a station's day only when its readings filled at least this
    # share of the intervals expected of it (the plan asks for quality-checked datasets).
    open_data_min_availability: Annotated[float, Field(ge=0, le=1)] = 0.8

    _migrate = model_validator(mode="before")(migrate_registry_url)


def load_api_config(path: Path) -> ApiConfig:
    """Raises: ConfigError naming the file, the key and the line."""
    return load_config(path, ApiConfig)
