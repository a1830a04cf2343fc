"""The project's one InfluxDB client: line protocol to ``/write``, InfluxQL to ``/query``.

This HTTP API is served by InfluxDB 1.x, by 2.x (v1 compatibility endpoints, token auth)
and by 3.x, so the same client serves all three. Writes are gzip-compressed. Retry rules
follow Telegraf's InfluxDB output: a 4xx means the data is bad and is never retried
(``WriteRejected``); 5xx and connection errors are retried with capped exponential
backoff, and ``Unavailable`` is raised once the attempts allowed are used up.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from iotgw.tsdb.errors import QueryFailed, Unavailable, rejection
from iotgw.tsdb.line_protocol import Point, encode_points

log = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with full jitter; ``max_attempts=None`` retries forever."""

    initial_s: float = 0.2
    max_s: float = 10.0
    max_attempts: int | None = 5

    def delay_s(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_s, self.initial_s * 2 ** (attempt - 1)))


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a query result: its measurement name, tags and rows."""

    name: str
    tags: dict[str, str]
    rows: list[Row]


def _quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class NotAuthorized(QueryFailed):
    """InfluxDB refused the statement to this account: it has no grant for it."""


def quote_string(value: str) -> str:
    """An InfluxQL string literal, for a tag value in a WHERE clause."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class InfluxClient:
    """Synchronous client; one instance per thread of writes.

    Args:
        url: base URL, e.g. ``http://127.0.0.1:8086``.
        token: InfluxDB 2.x/3.x token (sent as ``Authorization: Token ...``); None for 1.x.
        auth: username and password (HTTP basic auth): InfluxDB 1.x with ``auth-enabled``,
            or 2.x's v1 endpoints with a v1 authorization.
        timeout_s: per-request timeout.
        backoff: retry policy for 5xx and connection errors.
        sleep: injectable for tests of the retry schedule (the wall clock is not a service).
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        auth: tuple[str, str] | None = None,
        timeout_s: float = 10.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"Authorization": f"Token {token}"} if token else {}
        self._http = httpx.Client(base_url=url, timeout=timeout_s, headers=headers, auth=auth)
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self.retries = 0  # cumulative count of retried requests, for metrics

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> InfluxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ping(self) -> bool:
        """True when InfluxDB answers ``/ping``; never raises."""
        try:
            return self._http.get("/ping").status_code == 204
        except httpx.HTTPError:
            return False

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    return response
                last_error = f"HTTP {response.status_code}: {response.text.strip()[:200]}"
            if self.backoff.max_attempts is not None and attempt >= self.backoff.max_attempts:
                raise Unavailable(attempt, last_error)
            delay = self.backoff.delay_s(attempt)
            log.warning("InfluxDB %s %s failed (%s); retry %d in %.2fs",
                        method, path, last_error, attempt, delay)
            self.retries += 1
            self._sleep(delay)

    def write_lines(
        self, database: str, body: str, *, retention_policy: str | None = None,
        precision: str = "ms",
    ) -> None:
        """Write newline-separated line protocol.

        Raises:
            PartialWrite: InfluxDB stored some of the points and dropped others (a
                ``WriteRejected``); not retried.
            WriteRejected: InfluxDB refused the data (4xx); not retried.
            Unavailable: 5xx or no connection after the allowed attempts.
        """
        params = {"db": database, "precision": precision}
        if retention_policy:
            params["rp"] = retention_policy
        response = self._request(
            "POST", "/write", params=params, content=gzip.compress(body.encode(), 1),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"},
        )
        if response.status_code != 204:
            raise rejection(response.status_code, response.text)

    def write_points(
        self, database: str, points: Iterable[Point], *, retention_policy: str | None = None,
        batch_lines: int = 5_000,
    ) -> int:
        """Encode (ms precision) and write, ``batch_lines`` points per request (InfluxDB's
        advice: thousands of lines per write); returns how many. A batch written before
        an error stays written, and writing the same points again overwrites them. Errors
        as for ``write_lines``."""
        written = 0
        remaining = iter(points)
        while batch := list(itertools.islice(remaining, batch_lines)):  # itertools.batched: 3.12
            self.write_lines(database, encode_points(batch), retention_policy=retention_policy)
            written += len(batch)
        return written

    def query(self, database: str | None, statement: str, *, shown: str | None = None) -> list[Series]:
        """Run InfluxQL (times as epoch ms) and return the series of its results.

        Args:
            shown: what an error names instead of the statement (one carrying a password).

        Raises:
            NotAuthorized: the account logged in but may not run the statement (HTTP 403).
            QueryFailed: InfluxDB reported another error for the statement (a wrong or
                missing password too: HTTP 401).
            Unavailable: as for writes.
        """
        params = {"q": statement, "epoch": "ms"}
        if database:
            params["db"] = database
        response = self._request("POST", "/query", data=params)
        named = repr(statement) if shown is None else shown
        try:
            payload = response.json()
        except json.JSONDecodeError as exc:
            raise QueryFailed(f"{named}: HTTP {response.status_code}, not JSON") from exc
        if "error" in payload:
            failed = NotAuthorized if response.status_code == 403 else QueryFailed
            raise failed(f"{named}: {payload['error']}")
        out: list[Series] = []
        for result in payload.get("results", []):
            if "error" in result:
                raise QueryFailed(f"{named}: {result['error']}")
            for series in result.get("series", []):
                columns: Sequence[str] = series["columns"]
                rows = [dict(zip(columns, values, strict=True))
                        for values in series.get("values", [])]  # SHOW SHARDS: none for a database without
                out.append(Series(series.get("name", ""), series.get("tags", {}), rows))
        return out

    def create_database(self, name: str) -> None:
        """Idempotent: creating an existing database succeeds."""
        self.query(None, f"CREATE DATABASE {_quote_ident(name)}")

    def create_retention_policy(
        self, database: str, name: str, *, duration: str, default: bool = False,
    ) -> None:
        """Create or update a retention policy (``duration`` in InfluxQL form: ``90d``, ``INF``)."""
        statement = (
            f"{_quote_ident(name)} ON {_quote_ident(database)} DURATION {duration} REPLICATION 1"
            + (" DEFAULT" if default else "")
        )
        existing = {row["name"] for s in self.query(
            database, f"SHOW RETENTION POLICIES ON {_quote_ident(database)}") for row in s.rows}
        verb = "ALTER" if name in existing else "CREATE"
        self.query(None, f"{verb} RETENTION POLICY {statement}")

    def users(self) -> dict[str, bool]:
        """Each account and whether it is an admin (an admin's privilege only)."""
        return {row["user"]: bool(row["admin"]) for s in self.query(None, "SHOW USERS") for row in s.rows}

    def set_user(self, name: str, password: str) -> None:
        """Create the account, or set its password if it exists: idempotent. A non-admin
        account; an admin one is demoted (its admin rights would bypass every grant)."""
        exists = self.users()
        user, secret = _quote_ident(name), quote_string(password)
        if name in exists:
            self.query(None, f"SET PASSWORD FOR {user} = {secret}", shown=f"SET PASSWORD FOR {user}")
            if exists[name]:
                self.query(None, f"REVOKE ALL PRIVILEGES FROM {user}")
        else:
            self.query(None, f"CREATE USER {user} WITH PASSWORD {secret}", shown=f"CREATE USER {user}")

    def set_privilege(self, user: str, database: str, privilege: str | None) -> None:
        """The account's one privilege on the database (``READ``, ``WRITE``, ``ALL``), or
        none: a grant replaces the previous one in InfluxDB 1.x, so this is idempotent."""
        if privilege is None:
            self.query(None, f"REVOKE ALL ON {_quote_ident(database)} FROM {_quote_ident(user)}")
            return
        if privilege not in ("READ", "WRITE", "ALL"):
            raise ValueError(f"privilege {privilege!r}: READ, WRITE or ALL")
        self.query(None, f"GRANT {privilege} ON {_quote_ident(database)} TO {_quote_ident(user)}")
