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
MAX_F_CNT = 2**32 - 1  # LoRaWAN's frame counter is 32 bits
_SHOWN_CHARS = 80  # of a hostile value quoted in a refusal: the log and heartbeat stay small


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
    """Raises: Unmappable, saying why (nothing else: the caller is paho's network thread,
    which an exception would end, stalling the device's every later uplink)."""
    try:
        event = json.loads(payload)
    except ValueError as exc:  # not UTF-8, not JSON, or an integer of more digits than int() takes
        raise Unmappable(f"not JSON: {_cut(str(exc))}") from exc
    except RecursionError:  # json.loads recurses once per nesting level
        raise Unmappable("not JSON: nested too deeply") from None
    if not isinstance(event, dict):
        raise Unmappable("not a JSON object")
    info = event.get("deviceInfo")
    sender = info.get("devEui") if isinstance(info, dict) else None
    if not isinstance(sender, str) or sender.lower() != dev_eui:
        raise Unmappable(f"deviceInfo.devEui is {_shown(sender)}, not {dev_eui!r}")
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
            raise Unmappable(f"object.{field.path} is {_shown(value)}, not a number")
        try:
            values[field.quantity] = float(value) * field.scale
        except OverflowError:  # an integer beyond any float
            raise Unmappable(f"object.{field.path} is {_shown(value)}, beyond any float") from None
    if not values:
        raise Unmappable(f"none of the configured fields {[f.path for f in fields]} in the"
                         f" object (it has {_shown(sorted(decoded))})")
    f_cnt = event.get("fCnt", 0)
    if isinstance(f_cnt, bool) or not isinstance(f_cnt, int) or not 0 <= f_cnt <= MAX_F_CNT:
        raise Unmappable(f"fCnt is {_shown(f_cnt)}, not a 32-bit frame counter")
    ts = _epoch_ms(event.get("time"))
    try:
        # A time at the epoch is refused by the schema, never taken for "no time".
        reading = Reading(device=device_id, ts=received_ms if ts is None else ts, values=values)
    except ValueError as exc:  # pydantic: a value that is not finite, a time it cannot store
        raise Unmappable(_cut(str(exc), 300)) from exc
    return Uplink(dev_eui, (str(event.get("devAddr", "")), f_cnt), reading, ts is not None)


def _cut(text: str, limit: int = _SHOWN_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _shown(value: object) -> str:
    """``value`` as a refusal quotes it: its repr, cut."""
    return _cut(repr(value))


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
    if stamp is None or stamp == "":
        return None
    if not isinstance(stamp, str):  # an epoch number, say: never taken for "no time"
        raise Unmappable(f"time {_shown(stamp)} is not RFC 3339")
    head, dot, rest = stamp.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        stamp = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Unmappable(f"time {_shown(stamp)} is not RFC 3339") from exc
    if when.tzinfo is None:
        raise Unmappable(f"time {_shown(stamp)} has no time zone")
    return (when - _EPOCH) // timedelta(milliseconds=1)
