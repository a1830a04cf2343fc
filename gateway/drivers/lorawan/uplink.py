"""ChirpStack v4 uplink events (``application/{id}/device/{devEui}/event/up``, the JSON
marshaler: the Protocol Buffers JSON mapping of ``integration.UplinkEvent``) turned into
readings, with no I/O so that the mapping is tested on the documented format alone.

The JSON mapping leaves out fields at their default value: an uplink with frame counter 0
has no ``fCnt``, one whose codec gave nothing has no ``object``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from iotgw.devices import Reading

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Unmappable(ValueError):
    """An uplink that gives no reading: not JSON, another device's, no decoded ``object``,
    or none of the configured fields in it (or one that is not a number)."""


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Where one quantity is in the codec's ``object``: a dotted path (``"soil.moisture"``),
    and the factor the decoded value is multiplied by."""

    path: str
    quantity: str
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class Uplink:
    dev_eui: str
    # (devAddr, fCnt): a frame's identity. A device that joins again starts its counter at 0
    # under a new address, so the address keeps its new frames from looking like repeats.
    frame: tuple[str, int]
    reading: Reading
    timed_by_network: bool  # False: stamped with the time the gateway received it


def parse(payload: bytes, *, dev_eui: str, device_id: str, fields: list[FieldMap],
          received_ms: int) -> Uplink:
    """Raises: Unmappable, saying why."""
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unmappable(f"not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise Unmappable("not a JSON object")
    info = event.get("deviceInfo")
    sender = info.get("devEui") if isinstance(info, dict) else None
    if not isinstance(sender, str) or sender.lower() != dev_eui:
        raise Unmappable(f"deviceInfo.devEui is {sender!r}, not {dev_eui!r}")
    decoded = event.get("object")
    if not isinstance(decoded, dict):
        raise Unmappable("no decoded object (is a codec configured in the device profile?)")
    values = {}
    for field in fields:
        value = _lookup(decoded, field.path)
        if value is None:
            continue
        if isinstance(value, bool):
            value = float(value)
        if not isinstance(value, int | float):
            raise Unmappable(f"object.{field.path} is {value!r}, not a number")
        values[field.quantity] = value * field.scale
    if not values:
        raise Unmappable(f"none of the configured fields {[f.path for f in fields]} in the"
                         f" object (it has {sorted(decoded)})")
    f_cnt = event.get("fCnt", 0)
    if not isinstance(f_cnt, int):
        raise Unmappable(f"fCnt is {f_cnt!r}")
    ts = _epoch_ms(event.get("time"))
    try:
        reading = Reading(device=device_id, ts=ts or received_ms, values=values)
    except ValueError as exc:  # pydantic: a value that is not finite
        raise Unmappable(str(exc)) from exc
    return Uplink(dev_eui, (str(event.get("devAddr", "")), f_cnt), reading, ts is not None)


def _lookup(decoded: dict[str, Any], path: str) -> Any:
    node: Any = decoded
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _epoch_ms(stamp: object) -> int | None:
    """RFC 3339 as the JSON mapping writes a Timestamp (``2024-05-01T03:04:05.123456789Z``);
    Python parses at most microseconds, so the fraction is cut there. None if absent."""
    if not isinstance(stamp, str) or not stamp:
        return None
    head, dot, rest = stamp.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        stamp = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Unmappable(f"time {stamp!r} is not RFC 3339") from exc
    if when.tzinfo is None:
        raise Unmappable(f"time {stamp!r} has no time zone")
    return (when - _EPOCH) // timedelta(milliseconds=1)
