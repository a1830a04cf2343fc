"""From an MQTT message to line protocol, or to the reason it cannot be stored. Pure.

A point is identified by measurement, tags and the device's timestamp, so a message
delivered twice overwrites its own points in InfluxDB: redelivery is harmless.

- One measurement, ``telemetry``; tags ``gateway`` and ``device`` (identity, never values);
  one float field per quantity, and ``quality`` as a string field.
- A message that is not a valid v1 batch, or whose payload names another gateway than
  its topic (the broker's ACL vouches only for the topic), is rejected whole.
- A payload that is a JSON array is SenML (RFC 8428; see ``devices.senml``): its readings
  are stored like a batch's, and records that map to no reading are dead-lettered with
  the whole pack (replaying it rewrites the good points, which is harmless).
- Within a valid batch, a reading with a value outside its quantity's valid range is split
  off and rejected alone, as a one-reading batch, so the rest of the batch is stored and
  the rejected part can be replayed as an ordinary message after a fix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pydantic import ValidationError

from devices import (
    QUANTITIES,
    Reading,
    SenmlError,
    TelemetryBatch,
    TopicError,
    decode_senml,
    parse_topic,
)
from tsdb import LineProtocolError, Point, encode_point

MEASUREMENT = "telemetry"


@dataclass(frozen=True, slots=True)
class Rejected:
    """Something that goes to the dead letters: the bytes to keep and why."""

    reason: str
    payload: bytes


@dataclass(slots=True)
class Decoded:
    lines: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def _validation_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "message"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"invalid telemetry: {where}: {first['msg']}{more}"


def _out_of_range(reading: Reading) -> str | None:
    for name, value in reading.values.items():
        quantity = QUANTITIES[name]
        if not quantity.in_range(value):
            return (f"device {reading.device}: {name}={value} outside "
                    f"[{quantity.minimum}, {quantity.maximum}] {quantity.unit}")
    return None


def reading_point(gateway_id: str, reading: Reading) -> Point:
    fields: dict[str, float | str] = dict(reading.values)
    fields["quality"] = reading.quality.value
    return Point(MEASUREMENT, fields, reading.ts, {"gateway": gateway_id, "device": reading.device})


def _decode_senml(gateway_id: str, payload: bytes, now_ms: int) -> Decoded:
    try:
        senml = decode_senml(payload, now_ms=now_ms)
    except SenmlError as exc:
        return Decoded(rejected=[Rejected(f"invalid SenML: {exc}", payload)])
    out = Decoded()
    if senml.rejected:
        reasons = "; ".join(reason for reason, _ in senml.rejected[:5])
        more = f" (and {len(senml.rejected) - 5} more)" if len(senml.rejected) > 5 else ""
        # The whole pack is kept: replaying it rewrites its good points, which is harmless.
        out.rejected.append(Rejected(f"SenML records not stored: {reasons}{more}", payload))
    if senml.readings:
        batch = TelemetryBatch(gateway=gateway_id, seq=0, readings=senml.readings)
        _add_readings(out, batch)
    return out


def _add_readings(out: Decoded, batch: TelemetryBatch) -> None:
    for reading in batch.readings:
        reason = _out_of_range(reading)
        if reason is None:
            try:
                out.lines.append(encode_point(reading_point(batch.gateway, reading)))
                continue
            except LineProtocolError as exc:
                reason = f"cannot encode: {exc}"
        alone = batch.model_copy(update={"readings": [reading]})
        out.rejected.append(Rejected(reason, alone.model_dump_json().encode()))


def decode_message(topic: str, payload: bytes, *, now_ms: int | None = None) -> Decoded:
    """Lines to write and parts to dead-letter; never raises for bad input.

    ``now_ms`` anchors SenML's relative times (default: the wall clock).
    """
    try:
        parsed_topic = parse_topic(topic)
    except TopicError as exc:
        return Decoded(rejected=[Rejected(f"bad topic: {exc}", payload)])
    if parsed_topic.kind != "telemetry":
        return Decoded(rejected=[Rejected(f"not a telemetry topic: {topic}", payload)])
    if payload.lstrip()[:1] == b"[":
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        return _decode_senml(parsed_topic.gateway_id, payload, now)
    try:
        batch = TelemetryBatch.model_validate_json(payload)
    except ValidationError as exc:
        return Decoded(rejected=[Rejected(_validation_reason(exc), payload)])
    if batch.gateway != parsed_topic.gateway_id:
        return Decoded(rejected=[Rejected(
            f"payload gateway {batch.gateway!r} differs from topic gateway"
            f" {parsed_topic.gateway_id!r}", payload)])
    out = Decoded()
    _add_readings(out, batch)
    return out
