"""The fast path of reading a telemetry v1 batch: ``msgspec``, a strict subset of the schema.

``devices.telemetry`` (pydantic) is the contract, and its error messages are what dead
letters say. Validating with it costs a worker most of its time at 50 readings per message
(the ``AfterValidator`` on every reading's values, a model object per reading). So a
batch is first read by ``msgspec`` into plain structs with the same constraints, in
*strict* mode: it accepts only what the schema accepts, and reads it to the same values
(JSON integers for a float field, duplicate keys the last one winning, as pydantic does).
Whatever it does not accept, for any reason, goes to the schema, which decides and says
why: an invalid message costs two reads, a valid one a fraction of one.

What msgspec does not check, ``read_batch`` does: ids match the schema's pattern as a
whole (Python's ``$`` also matches before a final newline, the schema's Rust regex does
not), and values must be known quantities (the schema's ``AfterValidator``). A float
msgspec reads is finite: JSON has no NaN, and a number that overflows a float is refused,
as the schema refuses it.
``tests/ingest/test_wire.py`` checks on generated messages that whatever this reads, the
schema reads to the same batch.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
from iotgw.devices import QUANTITIES, Quality, Reading, TelemetryBatch
from iotgw.devices.telemetry import MAX_READINGS_PER_BATCH, MAX_TS_MS, SCHEMA_VERSION
from iotgw.devices.topics import ID_PATTERN

_KNOWN = QUANTITIES.keys()
# ``ID_PATTERN`` matched whole, as the schema's Rust regex matches it (Python's ``$`` would
# also match before a final newline). Not a msgspec ``pattern``: that runs ``re`` on every
# id, half of all the decoding; a fleet has few ids, so the ones that matched are kept.
_ID_RE = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))
_IDS_OK: set[str] = set()
_MAX_IDS_OK = 262_144  # a province's fleet and more (see ingest.points.SERIES_CACHED)


class WireReading(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """A ``devices.Reading`` as read by ``read_batch``: same fields, same meaning."""

    device: str  # an id: checked by ``read_batch``
    ts: Annotated[int, msgspec.Meta(gt=0, le=MAX_TS_MS)]
    values: Annotated[dict[str, float], msgspec.Meta(min_length=1)]
    quality: Quality = Quality.GOOD

    def model(self) -> Reading:
        """The schema's object, for the rare paths that need one (a dead letter, a flag)."""
        return Reading.model_construct(device=self.device, ts=self.ts, values=self.values,
                                       quality=self.quality)


class WireBatch(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A ``devices.TelemetryBatch`` as read by ``read_batch``."""

    gateway: str  # an id: checked by ``read_batch``
    seq: Annotated[int, msgspec.Meta(ge=0)]
    readings: Annotated[list[WireReading], msgspec.Meta(min_length=1, max_length=MAX_READINGS_PER_BATCH)]
    v: Literal[1] = SCHEMA_VERSION
    replay: bool = False
    ack: bool = False

    def model(self, readings: list[Reading]) -> TelemetryBatch:
        """The schema's object of this envelope with ``readings`` (a dead letter's one)."""
        return TelemetryBatch.model_construct(
            v=self.v, gateway=self.gateway, seq=self.seq, replay=self.replay, ack=self.ack,
            readings=readings)


_DECODER = msgspec.json.Decoder(WireBatch)


def read_batch(payload: bytes) -> WireBatch | None:
    """The batch, if strict reading accepts it and the schema surely would; else None (then
    ``TelemetryBatch`` reads it and says what is wrong). Never raises."""
    try:
        batch = _DECODER.decode(payload)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    ids_ok = _IDS_OK
    if batch.gateway not in ids_ok and not _id_ok(batch.gateway):
        return None
    for reading in batch.readings:
        if not reading.values.keys() <= _KNOWN:
            return None
        if reading.device not in ids_ok and not _id_ok(reading.device):
            return None
    return batch


def _id_ok(name: str) -> bool:
    if _ID_RE.fullmatch(name) is None:
        return False
    if len(_IDS_OK) >= _MAX_IDS_OK:
        _IDS_OK.clear()
    _IDS_OK.add(name)
    return True
