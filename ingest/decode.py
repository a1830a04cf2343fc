"""From an MQTT message to readings, or to the reason it cannot be read. Pure.

A point is identified by measurement, tags and the device's timestamp, so a message
delivered twice overwrites its own points in InfluxDB: redelivery is harmless.

- A message whose envelope is not a valid v1 batch (``v``, ``gateway``, ``seq``,
  ``replay``, 1 to 10,000 readings), or whose payload names another gateway than its topic
  (the broker's ACL vouches only for the topic), is rejected whole, as it came.
- A reading that fails validation is split off alone, as a one-reading batch of the same
  envelope, and the message's valid readings are stored; a message none of whose readings
  is valid is rejected whole, as it came. The reason names the reading, what is wrong and
  the value, escaped and cut short (``shown``): never the raw bytes. Valid messages take
  one validation: a strict ``msgspec`` reading (``ingest.wire``), which accepts only what
  ``TelemetryBatch`` accepts; a message it refuses is validated by ``TelemetryBatch``,
  which says what is wrong, and only one that fails that too is read a third time,
  reading by reading.
- A payload that is a JSON array is SenML (RFC 8428; see ``devices.senml``): its readings
  are stored like a batch's, and records that map to no reading are dead-lettered with
  the whole pack (replaying it rewrites the good points, which is harmless).
- A gateway's status (``iot/v1/{gateway}/status``) becomes a ``gateway_health`` point.
- What becomes of each reading (checks, policies, tags) is ``ingest.points``.

Decoding never raises, whatever a gateway sends on its topics: every message ends as lines
to store or as at least one ``Rejected`` with a kind and a reason. That holds because the
schemas refuse what has no line-protocol encoding before anything is encoded: health keys
that are not identifiers, times InfluxDB cannot store, numbers that are not finite floats
(JSON integers of any length included), packs of more readings than a batch may hold
(``devices.telemetry``, ``devices.senml``). ``tests/ingest/test_hostile_shapes.py`` checks
it with generated messages; the worker still dead-letters a message the decoder raises on
(``decoder_error``), should a case have been missed.
"""

from __future__ import annotations

import functools
import reprlib
import time
from typing import Any

from iotgw.devices import (
    GatewayStatus,
    Reading,
    SenmlError,
    TelemetryBatch,
    TopicError,
    decode_senml,
    parse_topic,
)
from iotgw.devices.telemetry import TelemetryEnvelope
from iotgw.ingest.points import Context, Decoded, Rejected, add_readings, add_status
from iotgw.ingest.wire import WireBatch, read_batch
from pydantic import ValidationError
from pydantic_core import ErrorDetails, to_json

SHOWN_CHARS = 80  # of a bad value quoted in a reason

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist = 2, 4, 4
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = SHOWN_CHARS

# Every message's topic is parsed, and a fleet has few: the parts of each are kept. Only
# topics that parse are (a TopicError is not cached), and those are short (ids of at most
# 64 characters), so the cache is bounded in bytes too.
topic_parts = functools.lru_cache(maxsize=65_536)(parse_topic)


def shown(value: object) -> str:
    """``value`` quoted for a reason or a log line: escaped (``repr``), bounded in depth and
    cut to ``SHOWN_CHARS``. Never raises: an integer too long for ``repr`` (Python's
    4,300-digit limit) is described instead."""
    if isinstance(value, int) and value.bit_length() > 4_000:
        return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        text = _REPR.repr(value)
    except ValueError:  # such an integer inside a list or an object
        return f"<a {type(value).__name__} holding an integer too long to show>"
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."


def _error_text(error: ErrorDetails, loc_prefix: tuple[int | str, ...] = ()) -> str:
    where = ".".join(str(p) for p in (*loc_prefix, *error["loc"])) or "message"
    got = "" if error["type"] in ("missing", "json_invalid") else f", got {shown(error['input'])}"
    return f"{where}: {error['msg']}{got}"


def _validation_reason(exc: ValidationError, loc_prefix: tuple[int | str, ...] = ()) -> str:
    errors = exc.errors()
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid telemetry: {_error_text(errors[0], loc_prefix)}{more}"


def _in_one_reading(error: ErrorDetails) -> bool:
    """The error is inside one reading (``readings.<i>...``), not in the envelope."""
    loc = error["loc"]
    return len(loc) >= 2 and loc[0] == "readings" and isinstance(loc[1], int)


def _split_invalid(gateway_id: str, payload: bytes, whole: ValidationError, ctx: Context) -> Decoded:
    """A batch that failed validation: its valid readings stored, each invalid one split
    off alone; rejected whole, as it came, when its envelope is invalid, it names another
    gateway, or none of its readings is valid."""
    rejected_whole = Decoded(rejected=[Rejected("invalid", _validation_reason(whole), payload)])
    if not all(_in_one_reading(e) for e in whole.errors()):
        return rejected_whole
    try:
        envelope = TelemetryEnvelope.model_validate_json(payload)
    except ValidationError:
        return rejected_whole
    if envelope.gateway != gateway_id:
        return _gateway_mismatch(envelope.gateway, gateway_id, payload)
    valid: list[Reading] = []
    invalid: list[Rejected] = []
    for index, raw in enumerate(envelope.readings):
        try:
            valid.append(Reading.model_validate(raw))
        except ValidationError as exc:
            alone = _one_reading(envelope, raw)
            invalid.append(Rejected("invalid", _validation_reason(exc, ("readings", index)), alone))
    if not valid:
        return rejected_whole
    out = Decoded(rejected=invalid)
    out.counts["invalid"] += len(invalid)
    add_readings(out, TelemetryBatch.model_construct(
        v=envelope.v, gateway=envelope.gateway, seq=envelope.seq, replay=envelope.replay,
        ack=envelope.ack, readings=valid), ctx)
    return out


def _one_reading(envelope: TelemetryEnvelope, raw: Any) -> bytes:
    """A one-reading batch of the envelope: the dead letter of an invalid reading, to be
    fixed and replayed. JSON of what the parser read (``to_json`` writes any such value,
    non-finite floats as ``NaN``/``Infinity``)."""
    return to_json({"v": envelope.v, "gateway": envelope.gateway, "seq": envelope.seq,
                    "replay": envelope.replay, "readings": [raw]}, inf_nan_mode="constants")


def _gateway_mismatch(payload_gateway: str, topic_gateway: str, payload: bytes) -> Decoded:
    return Decoded(rejected=[Rejected(
        "gateway_mismatch", f"payload gateway {payload_gateway!r} differs from topic gateway"
        f" {topic_gateway!r}", payload)])


def _decode_senml(gateway_id: str, payload: bytes, ctx: Context) -> Decoded:
    try:
        senml = decode_senml(payload, now_ms=ctx.now_ms)
    except SenmlError as exc:
        return Decoded(rejected=[Rejected("invalid", f"invalid SenML: {exc}", payload)])
    out = Decoded()
    if senml.rejected:
        reasons = "; ".join(reason for reason, _ in senml.rejected[:5])
        more = f" (and {len(senml.rejected) - 5} more)" if len(senml.rejected) > 5 else ""
        out.rejected.append(Rejected("senml_records", f"SenML records not stored: {reasons}{more}", payload))
    if senml.readings:
        add_readings(out, TelemetryBatch(gateway=gateway_id, seq=0, readings=senml.readings), ctx)
    return out


def decode_message(topic: str, payload: bytes, ctx: Context | None = None) -> Decoded:
    """Lines to write and parts to dead-letter; never raises, whatever the topic and payload.

    ``ctx`` carries the clock, the policies and the tag lookup (default: the wall clock,
    default policies, no registry).
    """
    ctx = ctx or Context(now_ms=int(time.time() * 1000))
    try:
        parsed_topic = topic_parts(topic)
    except TopicError as exc:
        return Decoded(rejected=[Rejected("topic", f"bad topic: {exc}", payload)])
    if parsed_topic.kind == "status":
        try:
            status = GatewayStatus.model_validate_json(payload)
        except ValidationError as exc:
            reason = _validation_reason(exc).replace("invalid telemetry", "invalid status")
            return Decoded(rejected=[Rejected("invalid", reason, payload)])
        out = Decoded()
        add_status(out, parsed_topic.gateway_id, status, ctx.now_ms)
        return out
    if parsed_topic.kind != "telemetry":
        return Decoded(rejected=[Rejected("topic", f"not a telemetry topic: {topic}", payload)])
    if payload.lstrip()[:1] == b"[":
        return _decode_senml(parsed_topic.gateway_id, payload, ctx)
    batch: TelemetryBatch | WireBatch | None = read_batch(payload)  # the fast path, or:
    if batch is None:
        try:
            batch = TelemetryBatch.model_validate_json(payload)
        except ValidationError as exc:
            return _split_invalid(parsed_topic.gateway_id, payload, exc, ctx)
    if batch.gateway != parsed_topic.gateway_id:
        return _gateway_mismatch(batch.gateway, parsed_topic.gateway_id, payload)
    out = Decoded()
    add_readings(out, batch, ctx)
    return out
