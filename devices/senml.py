"""SenML (RFC 8428) JSON for third-party devices: resolved, then mapped to iotgw readings.

Resolution follows RFC 8428 section 4: base name, time, unit, value and sum apply to the
records after them until changed; a resolved time below 2**28 s is relative to now;
times are seconds (kept to the millisecond here). Mapping to the quantity catalogue:

- the resolved name is ``<device><sep><measurement>`` (sep ``:`` or ``/``) when the last
  part is a quantity name or one of ``ALIASES``; otherwise the whole name is the device
  and the quantity is the one ``UNIT_DEFAULTS`` gives for the record's unit (RFC 8428's
  first example names only the device: ``urn:dev:ow:10e2073a01080063``, unit ``Cel``);
- the device part becomes an id by ``devices.senml_names.device_id``, which never gives
  two names one id: an id stays itself, ``urn:`` names have their ``:`` turned into ``.``
  (``urn:dev:ow:10e2073a01080063`` is device ``urn.dev.ow.10e2073a01080063``), any other
  ``:`` or ``/``, and a name already starting ``urn.``, rejects the record with the reason;
- a unit, when given, must be the quantity's; a sum (``s``) is accepted for counters only;
- string, boolean and data values, and ``bver`` above 10, are rejected with a reason;
- so is a record whose value, sum or time is not a finite number (an integer too large for
  a float included), or whose resolved time is not a storable epoch (beyond
  ``MAX_TIME_S`` either way: ``devices.telemetry.MAX_TS_MS``, year 2262).

Records of one device at one time become one reading. A pack that resolves to more than
``MAX_READINGS_PER_BATCH`` readings is refused whole (``SenmlError``), as a v1 batch of
that many is: a pack is one message, and splitting it would let one message stand for
any number of batches. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from iotgw.devices.quantities import QUANTITIES, Kind
from iotgw.devices.senml_names import device_id
from iotgw.devices.telemetry import MAX_READINGS_PER_BATCH, MAX_TS_MS, Reading
from pydantic import ValidationError

RELATIVE_TIME_LIMIT_S = 2**28
MAX_SUPPORTED_VERSION = 10
MAX_TIME_S = MAX_TS_MS // 1000  # a resolved time further from 1970 has no storable reading

ALIASES = {
    "temperature": "air_temperature", "temp": "air_temperature", "humidity": "relative_humidity",
    "energy": "active_energy", "pm25": "pm2_5", "level": "water_level", "do": "dissolved_oxygen",
    "ec": "soil_ec", "moisture": "soil_moisture", "volume": "water_volume",
}
UNIT_DEFAULTS = {
    "Cel": "air_temperature", "%RH": "relative_humidity", "V": "voltage", "A": "current",
    "kWh": "active_energy", "m3": "water_volume", "ug/m3": "pm2_5", "mg/L": "dissolved_oxygen",
    "g/L": "salinity", "uS/cm": "soil_ec",
}


class SenmlError(ValueError):
    """The payload is not a SenML pack at all (not a JSON array of objects)."""


@dataclass(slots=True)
class SenmlDecoded:
    readings: list[Reading] = field(default_factory=list)
    rejected: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (reason, record)


def _number(record: dict[str, Any], key: str) -> float:
    value = record.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a finite number, not {value!r}")
    try:
        number = float(value)
    except OverflowError:  # JSON has integers of any length; a float has 308 digits
        raise ValueError(f"{key} must be a finite number, not an integer of {len(str(abs(value)))}"
                         " digits") from None
    if not math.isfinite(number):
        raise ValueError(f"{key} must be a finite number, not {value!r}")
    return number


def _time_ms(seconds: float, now_ms: int) -> int:
    """Epoch ms of a resolved SenML time (RFC 8428 4.5.3: below 2**28 s it is relative to
    now); raises ValueError when no storable reading can have it."""
    if not -MAX_TIME_S <= seconds <= MAX_TIME_S:  # also a sum of two finite times that overflowed
        raise ValueError(f"time {seconds!r} s is outside what can be stored"
                         f" (±{MAX_TIME_S} s of 1970: years 1678 to 2262)")
    return round(seconds * 1000) + (now_ms if seconds < RELATIVE_TIME_LIMIT_S else 0)


def _quantity(name: str, unit: str | None) -> tuple[str, str]:
    """(device, quantity) for a resolved name; raises ValueError when neither way maps."""
    cut = max(name.rfind(":"), name.rfind("/"))
    if cut > 0:
        measurement = name[cut + 1:]
        quantity = measurement if measurement in QUANTITIES else ALIASES.get(measurement)
        if quantity is not None:
            return name[:cut], quantity
    if unit in UNIT_DEFAULTS:
        return name.rstrip(":/"), UNIT_DEFAULTS[unit]
    raise ValueError(f"no quantity for name {name!r} with unit {unit!r}")


def decode_senml(payload: bytes, *, now_ms: int) -> SenmlDecoded:
    """Readings of the pack, and each record that maps to none with the reason.

    Raises:
        SenmlError: the payload is not a JSON array of objects, or it resolves to more
            than ``MAX_READINGS_PER_BATCH`` readings.
    """
    try:
        pack = json.loads(payload)
    except ValueError as exc:  # bad JSON or UTF-8, or an integer beyond int()'s 4300 digits
        raise SenmlError(f"not JSON: {exc}") from exc
    except RecursionError as exc:  # json's parser recurses per level: a hostile payload's depth
        raise SenmlError("nested too deeply to be a SenML pack") from exc
    if not isinstance(pack, list) or not pack or not all(isinstance(r, dict) for r in pack):
        raise SenmlError("a SenML pack is a non-empty JSON array of objects")
    out = SenmlDecoded()
    base: dict[str, Any] = {}
    values: dict[tuple[str, int], dict[str, float]] = {}
    for record in pack:
        base.update({k: v for k, v in record.items() if k in ("bn", "bt", "bu", "bv", "bs")})
        try:
            if "bver" in record and record["bver"] > MAX_SUPPORTED_VERSION:
                raise ValueError(f"bver {record['bver']} is newer than {MAX_SUPPORTED_VERSION}")
            for unsupported in ("vs", "vb", "vd"):
                if unsupported in record:
                    raise ValueError(f"{unsupported}: only numeric values are readings")
            name = str(base.get("bn", "")) + str(record.get("n", ""))
            unit = record.get("u", base.get("bu"))
            device, quantity = _quantity(name, unit)
            device = device_id(device)
            if unit is not None and unit != QUANTITIES[quantity].unit:
                raise ValueError(f"unit {unit!r}, but {quantity} is in {QUANTITIES[quantity].unit}")
            if "v" in record:
                value = _number(base, "bv") + _number(record, "v")
            elif "s" in record:
                if QUANTITIES[quantity].kind is not Kind.COUNTER:
                    raise ValueError(f"a sum for {quantity}, which is not a counter")
                value = _number(base, "bs") + _number(record, "s")
            else:
                raise ValueError("no value (v) or sum (s)")
            ts_ms = _time_ms(_number(base, "bt") + _number(record, "t"), now_ms)
        except (ValueError, TypeError) as exc:
            out.rejected.append((str(exc), record))
            continue
        values.setdefault((device, ts_ms), {})[quantity] = value
    if len(values) > MAX_READINGS_PER_BATCH:
        raise SenmlError(f"the pack has {len(values)} readings; at most {MAX_READINGS_PER_BATCH}"
                         " fit in one message")
    for (device, ts_ms), by_quantity in values.items():
        try:
            out.readings.append(Reading(device=device, ts=ts_ms, values=by_quantity))
        except ValidationError as exc:
            reason = "; ".join(e["msg"] for e in exc.errors())
            out.rejected.append((f"device {device!r} at {ts_ms}: {reason}",
                                 {"device": device, "ts_ms": ts_ms, "values": by_quantity}))
    return out
