"""Errors of the InfluxDB adapter; callers never see httpx types."""

from __future__ import annotations


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


class Unavailable(TsdbError):
    """InfluxDB could not be reached or answered 5xx, after every retry allowed."""

    def __init__(self, attempts: int, last_error: str) -> None:
        super().__init__(f"InfluxDB unavailable after {attempts} attempts: {last_error}")
        self.attempts = attempts
        self.last_error = last_error


class QueryFailed(TsdbError):
    """An InfluxQL statement returned an error."""
