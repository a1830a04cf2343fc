"""InfluxDB line protocol, exactly as InfluxDB 1.x parses it; pure functions, no I/O.

Escaping (checked against a real ``influxd``, see tests/tsdb/test_line_protocol_influxd.py):

- measurement: ``,`` and space are escaped with a backslash;
- tag keys, tag values, field keys: ``,``, ``=`` and space are escaped;
- string field values: double-quoted, ``"`` and ``\\`` escaped; newlines are kept;
- a backslash in a name is literal and cannot itself be escaped, so a name that ends in
  a backslash, or has one right before a character that needs escaping, has no encoding;
  nor has a name with a newline. Those raise ``LineProtocolError`` rather than write a
  different name. So do empty names, empty tag values, non-finite floats and a point
  without fields, which InfluxDB would reject or silently drop.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec
from iotgw.tsdb.errors import LineProtocolError

FieldValue = float | int | bool | str


_KEY_SPECIAL = ",= "
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class Point:
    """One point: ``time`` is an integer in the precision the write uses (iotgw uses ms)."""

    measurement: str
    fields: Mapping[str, FieldValue]
    time: int
    tags: Mapping[str, str] = field(default_factory=dict)


_PLAIN = re.compile(r"[^,= \\\n\r]+")  # a name with none of these needs no escaping


@functools.lru_cache(maxsize=65_536)
def _escape_name(name: str, special: str, what: str) -> str:
    """Escaped name; cached, because the same tag keys, values and field keys recur in
    nearly every point (encoding is ingest's largest CPU cost)."""
    if _PLAIN.fullmatch(name) and not name.startswith("#"):
        return name
    if not name:
        raise LineProtocolError(f"empty {what}")
    if "\n" in name or "\r" in name:
        raise LineProtocolError(f"{what} {name!r} contains a line break")
    if name.endswith("\\") or any(f"\\{c}" in name for c in special):
        raise LineProtocolError(
            f"{what} {name!r} has a backslash before {special!r} or at its end,"
            " which line protocol cannot represent"
        )
    out = name
    for char in special:
        out = out.replace(char, f"\\{char}")
    return out


def _encode_field_value(key: str, value: FieldValue) -> str:
    if type(value) is float:  # nearly every field: checked first
        if not math.isfinite(value):
            raise LineProtocolError(f"field {key!r}: {value} is not a finite number")
        return repr(value)
    # bool before int: bool is a subclass of int in Python.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise LineProtocolError(f"field {key!r}: integer {value} outside int64")
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LineProtocolError(f"field {key!r}: {value} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise LineProtocolError(f"field {key!r}: unsupported type {type(value).__name__}")


@functools.lru_cache(maxsize=65_536)
def _series_key(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    """Measurement and sorted tags, escaped: the same for every point of a series."""
    if measurement.startswith("#"):
        raise LineProtocolError(f"measurement {measurement!r} would be read as a comment")
    parts = [_escape_name(measurement, ", ", "measurement")]
    for key, value in tags:
        if key == "time":
            raise LineProtocolError("'time' cannot be a tag key")
        parts.append(
            f",{_escape_name(key, _KEY_SPECIAL, 'tag key')}="
            f"{_escape_name(value, _KEY_SPECIAL, f'tag {key!r} value')}"
        )
    return "".join(parts)


def series_key(measurement: str, tags: Mapping[str, str]) -> str:
    """The escaped measurement and sorted tags that start every line of a series; callers
    that write many points of the same series keep it and use ``encode_line``.

    Raises:
        LineProtocolError: the measurement or a tag has no faithful encoding.
    """
    return _series_key(measurement, tuple(sorted(tags.items())))


# Encoded ``key=`` of field keys seen, and encoded string values seen: a plain dict lookup
# is most of what a reading's field costs (ingest's hot path). Bounded: cleared when full,
# since keys and strings come from input.
_FIELD_PREFIXES: dict[str, str] = {}
_STRING_VALUES: dict[str, str] = {}
_MAX_CACHED = 65_536
_MAX_CACHED_STRING = 64


def _field_prefix(key: str) -> str:
    if key == "time":
        raise LineProtocolError("'time' cannot be a field key")
    if len(_FIELD_PREFIXES) >= _MAX_CACHED:
        _FIELD_PREFIXES.clear()
    prefix = _FIELD_PREFIXES[key] = _escape_name(key, _KEY_SPECIAL, "field key") + "="
    return prefix


def _string_value(value: str) -> str:
    encoded = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if len(value) <= _MAX_CACHED_STRING:  # short ones recur (a reading's quality); long ones not
        if len(_STRING_VALUES) >= _MAX_CACHED:
            _STRING_VALUES.clear()
        _STRING_VALUES[value] = encoded
    return encoded


def encode_line(series: str, fields: Mapping[str, FieldValue], time: int) -> str:
    """One line for a series key from ``series_key``, without the trailing newline.

    Raises:
        LineProtocolError: the fields have no faithful encoding.
    """
    if not fields:
        raise LineProtocolError(f"point of {series!r} has no fields")
    prefixes, strings = _FIELD_PREFIXES, _STRING_VALUES
    encoded = []
    for key, value in fields.items():
        prefix = prefixes.get(key) or _field_prefix(key)
        kind = type(value)
        # A finite float (v - v is 0.0 only for those) is nearly every field: repr is its encoding.
        if kind is float and value - value == 0.0:
            encoded.append(prefix + repr(value))
        elif kind is str:
            encoded.append(prefix + (strings.get(value) or _string_value(value)))
        else:
            encoded.append(prefix + _encode_field_value(key, value))
    return f"{series} {','.join(encoded)} {int(time)}"


def encode_fields(fields: Mapping[str, FieldValue]) -> str:
    """A field set, ``key=value,...``, for fields that many lines share (a reading's
    quality): encoded once, then joined after ``encode_float_fields``'s.

    Raises:
        LineProtocolError: the fields have no faithful encoding.
    """
    return ",".join((_FIELD_PREFIXES.get(k) or _field_prefix(k)) + _encode_field_value(k, v)
                    for k, v in fields.items())


def encode_float_fields(values: Sequence[Mapping[str, float]]) -> list[str]:
    """The field sets (``key=value,...``) of many points at once, for ingest's hot path: one
    ``msgspec`` encoding of them all instead of a ``repr`` per value, which was a quarter of
    an ingest worker's time. msgspec writes each float as the shortest text that reads back
    as the same float, as ``repr`` does, in forms line protocol reads as floats (``1e16``,
    ``1e-7``; tests/tsdb/test_line_protocol_influxd.py).

    The caller vouches for what this does not check: every key is a plain field key (one
    ``encode_fields`` writes unescaped: ingest's quantity names) and every value a finite
    float (msgspec writes NaN as ``null``), and no mapping is empty. One such breach is
    still caught, the one that would give a point another's values: a key holding ``},{``.

    Raises:
        LineProtocolError: the field sets do not come out one per mapping.
    """
    if not values:
        return []
    text = _FLOAT_FIELDS.encode(values).decode()
    parts = text[2:-2].replace('"', "").replace(":", "=").split("},{")
    if len(parts) != len(values):
        raise LineProtocolError(f"{len(values)} field sets came out as {len(parts)}: a key is not plain")
    return parts


_FLOAT_FIELDS = msgspec.json.Encoder()


def encode_point(point: Point) -> str:
    """One line of line protocol, without the trailing newline.

    Raises:
        LineProtocolError: the point has no faithful encoding.
    """
    return encode_line(series_key(point.measurement, point.tags), point.fields, point.time)


def encode_points(points: Iterable[Point]) -> str:
    """Newline-joined lines, ready for ``/write``."""
    return "\n".join(encode_point(p) for p in points)
