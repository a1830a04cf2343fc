"""Reading line protocol back, the way InfluxDB 1.x parses it, to check what ingest writes.

Strict where InfluxDB is strict and where iotgw promises more (``tsdb.line_protocol``):
a line is ``measurement[,tag=value...] field=value[,field=value...] time``, one line,
no empty names, no ``time`` key, a measurement not read as a comment, finite floats,
int64 integers, and a time in milliseconds that InfluxDB can store (int64 nanoseconds).
Raises ``ValueError`` naming the first thing wrong; used only by tests.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

FieldValue = float | int | bool | str

_INT64 = 2**63 - 1
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # what Go's ParseFloat reads; no inf, nan
_BOOLS = {"t": True, "T": True, "true": True, "True": True, "TRUE": True,
          "f": False, "F": False, "false": False, "False": False, "FALSE": False}


@dataclass(frozen=True, slots=True)
class Line:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, FieldValue]
    time_ms: int


def _name(line: str, at: int, stops: str, escapable: str, what: str) -> tuple[str, int]:
    """An escaped name from ``at`` up to the first unescaped character of ``stops``."""
    out: list[str] = []
    while at < len(line) and line[at] not in stops:
        if line[at] == "\\" and at + 1 < len(line) and line[at + 1] in escapable:
            out.append(line[at + 1])
            at += 2
            continue
        if line[at] in "\r\n":
            raise ValueError(f"line break in {what}")
        out.append(line[at])
        at += 1
    if not out:
        raise ValueError(f"empty {what} at {at}")
    return "".join(out), at


def _value(line: str, at: int, key: str) -> tuple[FieldValue, int]:
    if line[at:at + 1] == '"':
        out: list[str] = []
        at += 1
        while at < len(line) and line[at] != '"':
            if line[at] == "\\" and line[at + 1:at + 2] in ('"', "\\"):
                at += 1
            out.append(line[at])
            at += 1
        if at >= len(line):
            raise ValueError(f"field {key!r}: unterminated string")
        return "".join(out), at + 1
    end = at
    while end < len(line) and line[end] not in ", ":
        end += 1
    text = line[at:end]
    if text in _BOOLS:
        return _BOOLS[text], end
    if text.endswith("i") and re.fullmatch(r"[+-]?\d+", text[:-1]):
        number = int(text[:-1])
        if not -_INT64 - 1 <= number <= _INT64:
            raise ValueError(f"field {key!r}: integer {text} outside int64")
        return number, end
    if not _FLOAT.fullmatch(text) or not math.isfinite(float(text)):
        raise ValueError(f"field {key!r}: {text!r} is not a finite float")
    return float(text), end


def parse_line(line: str) -> Line:
    """The parts of one line of line protocol in millisecond precision.

    Raises:
        ValueError: the line is not one InfluxDB would store as written.
    """
    if line.startswith("#"):
        raise ValueError("a line starting with '#' is a comment")
    measurement, at = _name(line, 0, ", ", ", ", "measurement")
    tags: dict[str, str] = {}
    while line[at:at + 1] == ",":
        key, at = _name(line, at + 1, ",= ", ",= ", "tag key")
        if line[at:at + 1] != "=":
            raise ValueError(f"tag {key!r} without '='")
        tags[key], at = _name(line, at + 1, ", ", ",= ", f"tag {key!r} value")
    if line[at:at + 1] != " ":
        raise ValueError(f"no fields after the series key at {at}")
    fields: dict[str, FieldValue] = {}
    while line[at:at + 1] in (" ", ",") and (not fields or line[at] == ","):
        key, at = _name(line, at + 1, ",= ", ",= ", "field key")
        if line[at:at + 1] != "=":
            raise ValueError(f"field {key!r} without '='")
        if key in fields:
            raise ValueError(f"field {key!r} twice")
        fields[key], at = _value(line, at + 1, key)
    if line[at:at + 1] != " ":
        raise ValueError(f"no time after the fields at {at}")
    time_text = line[at + 1:]
    if not re.fullmatch(r"-?\d+", time_text):
        raise ValueError(f"time {time_text[:40]!r} is not an integer")
    time_ms = int(time_text)
    if abs(time_ms) * 1_000_000 > _INT64:
        raise ValueError(f"time {time_ms} ms is outside int64 nanoseconds")
    if "time" in tags or "time" in fields:
        raise ValueError("'time' is a tag or field key")
    return Line(measurement, tags, fields, time_ms)
