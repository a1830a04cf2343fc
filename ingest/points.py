"""From decoded readings to points: plausibility, policies, enrichment. Pure.

A reading is *implausible* when a value is outside its quantity's range, its time is
further ahead than the tolerance (a gateway clock gone wrong), or its time is before the
device's installation (its first placement). With ``implausible = "dead_letter"`` such a
reading is split off alone as a replayable one-reading batch; with ``"flag"`` it is stored
with quality ``bad``, which puts it in ``telemetry_bad`` (see ``tsdb.schema``).

With a registry, tags come from where the device was at the reading's time; a device it
does not know is dead-lettered, or with ``unregistered = "accept"`` stored with the field
``unregistered=true``. A gateway speaks only for the devices placed on it at the reading's
time (a device placed on no gateway only for a gateway of its own id: a node that talks to
the broker itself): anything else is dead-lettered ("device X is not on gateway Y at T"),
or with ``foreign_device = "flag"`` stored in ``telemetry_bad`` with the field
``foreign=true`` and only the sender's gateway and device tags, never the placed gateway's
tags. Every outcome is counted by reason, for the metrics.

Readings of a device placed under a household meter point at the reading's time are
personal data: their lines are marked (``Decoded.personal``) and written to the personal
database (``tsdb.schema.personal_database``), where read-only accounts have no grant.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from iotgw.devices import QUANTITIES, GatewayStatus, Quality, Reading, TelemetryBatch
from iotgw.ingest.config import PolicyConfig
from iotgw.ingest.wire import WireBatch, WireReading
from iotgw.registry import DeviceHistory, DeviceTags
from iotgw.tsdb import (
    FieldValue,
    LineProtocolError,
    Point,
    encode_fields,
    encode_float_fields,
    encode_line,
    encode_point,
    series_key,
)
from iotgw.tsdb.schema import GATEWAY_HEALTH, HOUR_MS, HOUSEHOLD, TELEMETRY, TELEMETRY_BAD

TagLookup = Callable[[str], DeviceHistory | None]
AnyReading = Reading | WireReading  # the schema's, or read on the fast path (ingest.wire)
AnyBatch = TelemetryBatch | WireBatch


@dataclass(frozen=True, slots=True)
class Rejected:
    """Something that goes to the dead letters: a short category (a metrics label), the
    reason for people, and the bytes to keep."""

    kind: str
    reason: str
    payload: bytes


@dataclass(slots=True)
class Decoded:
    """What a message decodes to. ``origins`` runs beside ``lines``: the reading each line
    encodes (None for a line of no reading, e.g. a gateway's status), and ``batch`` the
    envelope they came in, so that a line InfluxDB drops can be dead-lettered as its
    reading alone (``one_reading``)."""

    lines: list[str] = field(default_factory=list)
    origins: list[AnyReading | None] = field(default_factory=list)
    personal: set[int] = field(default_factory=set)  # indices of lines of household meters
    batch: AnyBatch | None = None
    rejected: list[Rejected] = field(default_factory=list)
    # outcome -> readings; an empty Counter made without Counter.__init__, 4x as fast
    counts: Counter[str] = field(default_factory=lambda: Counter.__new__(Counter))
    newest_ms: int | None = None  # device time of the newest reading stored
    hours: set[int] = field(default_factory=set)  # epoch hours with readings stored
    seen: dict[str, int] = field(default_factory=dict)  # gateway -> when it said it was online


@dataclass(frozen=True, slots=True)
class Context:
    now_ms: int
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    lookup: TagLookup | None = None


_RANGES = {name: (q.minimum, q.maximum) for name, q in QUANTITIES.items()}
_QUALITY_FIELDS = {q: q.value for q in Quality}  # the enum's ``.value`` is slow on a hot path
_QUALITY_ENCODED = {q: encode_fields({"quality": q.value}) for q in Quality}  # every line has one


def _implausible(reading: AnyReading, ctx: Context, tags: DeviceTags | None) -> tuple[str, str] | None:
    """(counter key, reason) of the first thing wrong with the reading, if any."""
    for name, value in reading.values.items():
        low, high = _RANGES[name]
        if not low <= value <= high:
            quantity = QUANTITIES[name]
            return "out_of_range", (f"device {reading.device}: {name}={value} outside "
                                    f"[{quantity.minimum}, {quantity.maximum}] {quantity.unit}")
    if reading.ts > ctx.now_ms + ctx.policy.future_tolerance_s * 1000:
        return "future", (f"device {reading.device}: time {reading.ts} is "
                          f"{(reading.ts - ctx.now_ms) / 1000:.0f} s ahead of ingest's clock")
    if tags is not None and reading.ts < tags.installed_ms:
        return "before_install", (f"device {reading.device}: time {reading.ts} is before its "
                                  f"installation at {tags.installed_ms}")
    return None


# Series keys a worker keeps: more than a province's fleet (about 105,000 devices), each
# seen by every worker of the shared subscription. An LRU smaller than the fleet misses on
# every reading (gateways cycle through their devices), and a miss costs about 40 times a
# hit (about 10 µs against 0.25). About 400 bytes an entry: at most about 100 MiB per
# worker, whatever device ids a gateway invents.
SERIES_CACHED = 262_144


@functools.lru_cache(maxsize=SERIES_CACHED)
def _reading_series(gateway_id: str, device: str, tags: DeviceTags | None, bad: bool) -> str:
    """Encoded series key of a device's readings: tags from the registry when known, else
    gateway and device; the gateway tag is always the topic's, which the ACL vouches for. Readings
    of quality "bad" go to their own measurement, so that nothing computed over
    ``telemetry`` needs to filter them out. Cached: a device's key is the same for every
    reading (a registry change brings new tags)."""
    point_tags = {"gateway": gateway_id, "device": device}
    if tags is not None:
        point_tags = {**tags.as_tags(), **point_tags}
    return series_key(TELEMETRY_BAD if bad else TELEMETRY, point_tags)


def _tags_at(history: DeviceHistory | None, ts_ms: int) -> DeviceTags | None:
    """Tags of the placement in force at ``ts_ms``; before the first placement that one's
    (the reading is then implausible: before installation)."""
    if history is None:
        return None
    tags = history.at(ts_ms)
    if tags is None and ts_ms < history.installed_ms:
        return history.spans[0].tags
    return tags


def _not_on_gateway(reading: AnyReading, gateway_id: str, tags: DeviceTags | None) -> str | None:
    """Why ``gateway_id`` may not speak for the registered device at the reading's time."""
    if tags is not None and (tags.gateway == gateway_id
                             or (not tags.gateway and reading.device == gateway_id)):
        return None
    at = dt.datetime.fromtimestamp(reading.ts / 1000, dt.UTC).isoformat(timespec="milliseconds")
    where = "not placed" if tags is None else f"on {tags.gateway or 'no gateway'}"
    return f"device {reading.device} is not on gateway {gateway_id} at {at} ({where})"


def one_reading(batch: AnyBatch, reading: AnyReading) -> bytes:
    """A replayable batch of one reading, in the envelope it came in: a dead letter."""
    if isinstance(reading, WireReading):
        reading = reading.model()
    if isinstance(batch, WireBatch):
        return batch.model([reading]).model_dump_json().encode()
    return batch.model_copy(update={"readings": [reading]}).model_dump_json().encode()


def _flagged(reading: AnyReading) -> Reading:
    """The reading with quality ``bad``."""
    model = reading.model() if isinstance(reading, WireReading) else reading
    return model.model_copy(update={"quality": Quality.BAD})


def add_readings(out: Decoded, batch: AnyBatch, ctx: Context) -> None:
    """Append the batch's lines to ``out``, splitting off what policy keeps aside.

    The loop runs for every reading ingest receives: what does not change within a batch
    is read once, and a reading that needs no policy (the usual one) costs a range check,
    a cached series key and its line."""
    out.batch = batch
    gateway = batch.gateway
    lookup, policy = ctx.lookup, ctx.policy
    latest_ms = ctx.now_ms + policy.future_tolerance_s * 1000
    lines, origins, hours = out.lines, out.origins, out.hours
    newest_ms = out.newest_ms
    readings = batch.readings
    # every reading's values at once, used for those found within their ranges (finite floats)
    plain_fields = encode_float_fields([reading.values for reading in readings])
    for reading, plain in zip(readings, plain_fields, strict=True):
        ts = reading.ts
        history = lookup(reading.device) if lookup is not None else None
        tags = _tags_at(history, ts) if history is not None else None
        # placed under a household: personal data, even when flagged as sent by a stranger
        personal = tags is not None and tags.organisation_type == HOUSEHOLD
        reason: str | None = None
        kind = ""
        flags: dict[str, FieldValue] | None = None
        in_ranges = False  # values checked to be within their ranges (so finite floats)
        unregistered = lookup is not None and history is None
        if unregistered and policy.unregistered == "dead_letter":
            kind, reason = "unregistered", f"device {reading.device}: not in the registry"
            out.counts[kind] += 1
        elif history is not None and (
                foreign := _not_on_gateway(reading, gateway, tags)) is not None:
            kind, reason = "foreign_device", foreign
            out.counts[kind] += 1
            if policy.foreign_device == "flag":
                reading = _flagged(reading)
                tags, flags, reason = None, {"foreign": True}, None
                out.counts["flagged"] += 1
        elif ((not (in_ranges := _in_ranges(reading.values)) or ts > latest_ms
               or (tags is not None and ts < tags.installed_ms))
              and (problem := _implausible(reading, ctx, tags)) is not None):  # said in words
            kind, reason = problem
            out.counts[kind] += 1
            if policy.implausible == "flag":
                reading = _flagged(reading)
                out.counts["flagged"] += 1
                reason = None
        if reason is None:
            quality = reading.quality
            if unregistered:
                out.counts["unregistered_accepted"] += 1
                flags = {"unregistered": True}
            try:
                series = _reading_series(gateway, reading.device, tags, quality is Quality.BAD)
                if in_ranges and flags is None:  # the usual reading: values checked finite
                    line = f"{series} {plain},{_QUALITY_ENCODED[quality]} {ts}"
                else:
                    line = encode_line(series, {**reading.values, "quality": _QUALITY_FIELDS[quality],
                                                **(flags or {})}, ts)
            except LineProtocolError as exc:
                kind, reason = "unencodable", f"cannot encode: {exc}"
            else:
                if personal:
                    out.personal.add(len(lines))
                lines.append(line)
                origins.append(reading)
                if newest_ms is None or ts > newest_ms:
                    newest_ms = ts
                hours.add(ts // HOUR_MS)
                continue
        out.rejected.append(Rejected(kind, reason, one_reading(batch, reading)))
    out.newest_ms = newest_ms


def _in_ranges(values: Mapping[str, float]) -> bool:
    for name, value in values.items():
        low, high = _RANGES[name]
        if not low <= value <= high:
            return False
    return True


def add_status(out: Decoded, gateway_id: str, status: GatewayStatus, received_ms: int) -> None:
    """A ``gateway_health`` point: ``online`` and the heartbeat's numbers. Its time is the
    agent's when it gave one (a redelivered status then overwrites itself), else when it
    arrived (the Last Will: nobody knows when the connection died). A new subscription
    receives every gateway's retained status: stamped ones rewrite their own points, and
    an unstamped Last Will adds an ``offline`` point at that moment, which is then true."""
    ts = status.ts or received_ms
    fields: dict[str, float | str | bool] = {**status.health, "online": status.state == "online"}
    if status.version is not None:  # a field, not a tag: an upgrade starts no new series
        fields["version"] = status.version
    if status.read_errors:  # the devices, each with its last error, are in the retained status
        fields["devices_with_read_errors"] = len(status.read_errors)
    out.lines.append(encode_point(Point(GATEWAY_HEALTH, fields, ts, {"gateway": gateway_id})))
    out.origins.append(None)
    if status.state == "online":
        out.seen[gateway_id] = max(out.seen.get(gateway_id, 0), ts)
