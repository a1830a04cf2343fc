"""Telemetry message v1: one gateway's batch of readings, as it travels over MQTT.

JSON on the wire::

    {"v": 1, "gateway": "gw-dt-001", "seq": 42, "replay": false,
     "readings": [{"device": "soil-01", "ts": 1763800000000,
                   "values": {"soil_moisture": 31.5, "soil_temperature": 27.2},
                   "quality": "good"}]}

``ts`` is the device's read time in epoch milliseconds, UTC. ``seq`` increases with every
batch a gateway sends, across restarts (numbers may be skipped, never reused). ``replay``
marks batches of readings that waited in the gateway's buffer through an outage or a
restart, so consumers can tell history from live data. ``ack`` (optional, default false)
asks ingest to confirm the batch once it is stored: ingest then publishes its ``seq`` in a
``StoredAck`` on ``iot/v1/{gateway}/stored``, and only then does the gateway delete the
readings. A batch without it (gateways of the earlier contract, SenML devices publishing
directly) is done with once the broker acknowledged it (PUBACK).

Every time in these messages is storable: InfluxDB keeps int64 nanoseconds, so a time
after ``MAX_TS_MS`` (2262-04-11) is refused by the schema, like one at or before 1970.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from iotgw.devices.quantities import QUANTITIES
from iotgw.devices.topics import ID_PATTERN
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION = 1
MAX_READINGS_PER_BATCH = 10_000
MAX_STORED_SEQS = 100_000  # seqs in one StoredAck: more than one write batch ever holds
MAX_TS_MS = (2**63 - 1) // 1_000_000  # the latest millisecond InfluxDB can store
HEALTH_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
RESERVED_HEALTH_KEYS = frozenset({"time", "online"})  # line protocol's, and add_status's own
MAX_HEALTH_KEYS = 64
MAX_ERROR_DEVICES = 64  # devices whose read errors one status carries (the latest failing)
MAX_ERROR_CHARS = 200  # of one device's last error message
_HEALTH_KEY_RE = re.compile(HEALTH_KEY_PATTERN)

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


def _health_keys(health: dict[str, float]) -> dict[str, float]:
    """Health keys become field keys of ``gateway_health``: plain identifiers only, so that
    each has a line-protocol encoding and none shadows the time or the ``online`` field."""
    bad = [key for key in health if key in RESERVED_HEALTH_KEYS or not _HEALTH_KEY_RE.fullmatch(key)]
    if not bad:
        return health
    shown = ", ".join(repr(key[:40] + ("..." if len(key) > 40 else "")) for key in bad[:3])
    more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
    raise ValueError(
        f"health key{'s' if len(bad) > 1 else ''} {shown}{more} not allowed: each is 1-64"
        " characters of a-z, 0-9 and '_', starting with a letter, and neither 'time' nor 'online'"
    )


EpochMs = Annotated[int, Field(gt=0, le=MAX_TS_MS, description="epoch ms UTC")]


class Reading(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    device: EntityId
    ts: Annotated[EpochMs, Field(description="device read time, epoch ms UTC")]
    values: Annotated[dict[str, float], Field(min_length=1), AfterValidator(_known_quantities)]
    quality: Quality = Quality.GOOD


class TelemetryEnvelope(BaseModel):
    """A ``TelemetryBatch`` whose readings are not validated yet: its envelope (``v``,
    ``gateway``, ``seq``, ``replay``, how many readings) is. Ingest reads a batch that
    fails validation through it, then each reading alone (``Reading.model_validate``), so
    that one bad reading is set aside alone and its neighbours are still stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = SCHEMA_VERSION
    gateway: EntityId
    seq: Annotated[int, Field(ge=0)]
    replay: bool = False
    ack: bool = False
    readings: Annotated[list[Any], Field(min_length=1, max_length=MAX_READINGS_PER_BATCH)]


class TelemetryBatch(TelemetryEnvelope):
    readings: Annotated[list[Reading], Field(min_length=1, max_length=MAX_READINGS_PER_BATCH)]


class StoredAck(BaseModel):
    """The message on ``iot/v1/{gateway}/stored``: the ``seq`` of the gateway's batches that
    asked for it (``ack``) and whose readings ingest has stored in InfluxDB or durably
    dead-lettered, one message per gateway per write batch. Written only by ingest::

        {"v": 1, "seq": [41, 42, 43]}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = SCHEMA_VERSION
    seq: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1, max_length=MAX_STORED_SEQS)]


class DeviceReadErrors(BaseModel):
    """One device's failed reads in a gateway's status: a dead meter shows by name, not
    only in the gateway's total ``read_errors``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: Annotated[int, Field(ge=1)]
    last: Annotated[str, Field(max_length=MAX_ERROR_CHARS)]  # the last error's message
    last_ts: EpochMs | None = None  # when it failed (none while the clock is not trusted)


class GatewayStatus(BaseModel):
    """The retained message on ``iot/v1/{gateway}/status``: the agent publishes ``online``
    when it connects and ``offline`` when it stops cleanly; the broker publishes the Last
    Will (``offline``, without ``ts``: nobody knows when the connection died) otherwise.
    ``health`` carries the heartbeat's numbers (uptime, memory, buffer depth, ...): at most
    ``MAX_HEALTH_KEYS`` finite numbers under identifier keys (``HEALTH_KEY_PATTERN``, not
    ``time`` nor ``online``), since each becomes a field of the ``gateway_health`` point.
    ``version`` (the agent's) and ``read_errors`` (per device: failed reads, the last
    error and its time) are left out by agents older than iotgw 0.2."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    v: Literal[1] = SCHEMA_VERSION
    state: Literal["online", "offline"]
    ts: Annotated[EpochMs, Field(description="epoch ms UTC, when the agent said so")] | None = None
    health: Annotated[dict[str, float], Field(max_length=MAX_HEALTH_KEYS),
                      AfterValidator(_health_keys)] = Field(default_factory=dict)
    # The agent's iotgw version, so an operator sees which gateways an upgrade reached.
    version: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # Devices whose reads failed since the agent started, at most MAX_ERROR_DEVICES.
    read_errors: Annotated[dict[EntityId, DeviceReadErrors], Field(max_length=MAX_ERROR_DEVICES)] = \
        Field(default_factory=dict)
