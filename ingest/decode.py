"""From an MQTT message to readings, or to the reason it cannot be read. Pure.

A point is identified by measurement, tags and the device's timestamp, so a message
delivered twice overwrites its own points in InfluxDB: redelivery is harmless.

- A message that is not a valid v1 batch, or whose payload names another gateway than
  its topic (the broker's ACL vouches only for the topic), is rejected whole.
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

import time

from pydantic import ValidationError

from devices import (
    GatewayStatus,
    SenmlError,
    TelemetryBatch,
    TopicError,
    decode_senml,
    parse_topic,
)
from ingest.points import Context, Decoded, Rejected, add_readings, add_status


def _validation_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "message"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"invalid telemetry: {where}: {first['msg']}{more}"


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
        parsed_topic = parse_topic(topic)
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
    try:
        batch = TelemetryBatch.model_validate_json(payload)
    except ValidationError as exc:
        return Decoded(rejected=[Rejected("invalid", _validation_reason(exc), payload)])
    if batch.gateway != parsed_topic.gateway_id:
        return Decoded(rejected=[Rejected(
            "gateway_mismatch", f"payload gateway {batch.gateway!r} differs from topic gateway"
            f" {parsed_topic.gateway_id!r}", payload)])
    out = Decoded()
    add_readings(out, batch, ctx)
    return out
