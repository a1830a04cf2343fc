"""Errors of the InfluxDB adapter; callers never see httpx types."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


class TsdbError(Exception):
    """Base of every error raised by ``tsdb``."""


class LineProtocolError(TsdbError, ValueError):
    """A point that line protocol cannot represent (it would be stored wrongly or not at all)."""


class WriteRejected(TsdbError):
    """InfluxDB refused the data itself (4xx): retrying the same lines cannot succeed."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"InfluxDB rejected the write ({status}): {body.strip()}")
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class FieldTypeConflict:
    """InfluxDB's "field type conflict": ``field`` of ``measurement`` was first written in
    a shard as ``existing`` and this write has it as ``written``. A field's type is fixed
    per shard (a retention policy's shard group: 7 days for ``raw`` by default), so every
    point with that field in that shard's time range is dropped until the shard group ends
    or the conflicting series are dropped."""

    measurement: str
    field: str
    written: str
    existing: str

    def involves(self, line: str) -> bool:
        """Whether a line may carry the conflicting field: a cheap first guess on the text
        (exact for plain names, which ours are), for callers to confirm by writing."""
        return (line.startswith((self.measurement + ",", self.measurement + " "))
                and (f" {self.field}=" in line or f",{self.field}=" in line))

    def advice(self) -> str:
        """What an operator does about it."""
        return (f"field {self.field!r} of measurement {self.measurement!r} is stored as {self.existing}"
                f" in this shard and written as {self.written}: a field's type is fixed per shard"
                " (one per shard-group duration of the retention policy, 7 days for raw by default);"
                " the conflict ends when that shard group ends, or drop the conflicting series"
                f" (DROP SERIES FROM {json.dumps(self.measurement)} WHERE ...)")


_PARTIAL = re.compile(r"partial write: .*dropped=(\d+)", re.DOTALL)
_CONFLICT = re.compile(r'field type conflict: input field "(?P<field>(?:[^"\\]|\\.)*)" on measurement'
                       r' "(?P<measurement>(?:[^"\\]|\\.)*)" is type (?P<written>\w+),'
                       r" already exists as type (?P<existing>\w+)")


class PartialWrite(WriteRejected):
    """InfluxDB (1.x) stored some points of the write and dropped ``dropped`` of them
    (HTTP 400 "partial write: ... dropped=N"): a field type conflict, points outside the
    retention policy, a per-tag limit. Which points were dropped it does not say; the
    first ``conflict`` it names, when it is a field type conflict, is parsed. Lines it
    cannot parse are not stored and not counted in ``dropped`` ("partial write: unable to
    parse ... dropped=0"): ``dropped`` is a lower bound of the lines not stored."""

    def __init__(self, status: int, body: str, *, dropped: int,
                 conflict: FieldTypeConflict | None = None) -> None:
        super().__init__(status, body)
        self.dropped = dropped
        self.conflict = conflict


def rejection(status: int, body: str) -> WriteRejected:
    """The error for a 4xx answer to a write: ``PartialWrite`` when InfluxDB says it
    stored the rest, else ``WriteRejected`` (nothing was stored)."""
    try:
        message = json.loads(body).get("error", body)
    except (ValueError, AttributeError):
        message = body
    if not isinstance(message, str) or (partial := _PARTIAL.search(message)) is None:
        return WriteRejected(status, body)
    conflict = None
    if (found := _CONFLICT.search(message)) is not None:
        conflict = FieldTypeConflict(found["measurement"], found["field"], found["written"],
                                     found["existing"])
    return PartialWrite(status, message, dropped=int(partial[1]), conflict=conflict)


class Unavailable(TsdbError):
    """InfluxDB could not be reached or answered 5xx, after every retry allowed."""

    def __init__(self, attempts: int, last_error: str) -> None:
        super().__init__(f"InfluxDB unavailable after {attempts} attempts: {last_error}")
        self.attempts = attempts
        self.last_error = last_error


class QueryFailed(TsdbError):
    """An InfluxQL statement returned an error."""
