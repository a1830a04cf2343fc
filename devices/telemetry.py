"""Telemetry message v1: one gateway's batch of readings, as it travels over MQTT.

JSON on the wire::

    {"v": 1, "gateway": "gw-dt-001", "seq": 42, "replay": false,
     "readings": [{"device": "soil-01", "ts": 1763800000000,
                   "values": {"soil_moisture": 31.5, "soil_temperature": 27.2},
                   "quality": "good"}]}

``ts`` is the device's read time in epoch milliseconds, UTC. ``seq`` increases with every
batch a gateway sends, across restarts (numbers may be skipped, never reused). ``replay``
marks batches of readings that waited in the gateway's buffer through an outage or a
restart, so consumers can tell history from live data.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from devices.quantities import QUANTITIES
from devices.topics import ID_PATTERN

SCHEMA_VERSION = 1
MAX_READINGS_PER_BATCH = 10_000

EntityId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


class Quality(StrEnum):
    """OPC UA-style quality of one reading, set by the device or the gateway."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"


def _known_quantities(values: dict[str, float]) -> dict[str, float]:
    if values.keys() <= QUANTITIES.keys():  # runs for every reading ingest receives
        return values
    unknown = sorted(set(values) - QUANTITIES.keys())
    raise ValueError(f"unknown quantities {unknown}; known: {sorted(QUANTITIES)}")


class Reading(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    device: EntityId
    ts: Annotated[int, Field(gt=0, description="device read time, epoch ms UTC")]
    values: Annotated[dict[str, float], Field(min_length=1), AfterValidator(_known_quantities)]
    quality: Quality = Quality.GOOD


class TelemetryBatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = SCHEMA_VERSION
    gateway: EntityId
    seq: Annotated[int, Field(ge=0)]
    replay: bool = False
    readings: Annotated[list[Reading], Field(min_length=1, max_length=MAX_READINGS_PER_BATCH)]


class GatewayStatus(BaseModel):
    """The retained message on ``iot/v1/{gateway}/status``: the agent publishes ``online``
    when it connects and ``offline`` when it stops cleanly; the broker publishes the Last
    Will (``offline``, without ``ts``: nobody knows when the connection died) otherwise.
    ``health`` carries the heartbeat's numbers (uptime, memory, buffer depth, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    v: Literal[1] = SCHEMA_VERSION
    state: Literal["online", "offline"]
    ts: Annotated[int, Field(gt=0, description="epoch ms UTC, when the agent said so")] | None = None
    health: dict[str, float] = Field(default_factory=dict)
