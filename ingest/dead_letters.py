"""The dead-letter store: what ingest could not store, with topic, payload, reason and time.

A message is acknowledged to the broker only after its dead letter is committed here, so
a rejected message is kept, never dropped. SQLite (WAL, fsync on commit) on the ingest
host: nothing to install, survives a kill -9. Each ingest host keeps its own file; the
workers of ``--workers N`` share it (SQLite's file locking serialises their writes).

The store is bounded, because any gateway can send what gets dead-lettered (up to the
broker's 16 MiB packets, as fast as its link allows):

- a payload over ``max_payload_bytes`` is kept cut to that size, and its reason says so
  with the original size and SHA-256 (a cut payload cannot be replayed);
- past ``max_rows`` or ``max_bytes`` (payload bytes), ``when_full = "drop_oldest"``
  deletes the oldest letters to make room (AWS Greengrass stream manager's
  OverwriteOldestData), ``"drop_new"`` keeps the store as it is and discards the new ones.

Either way nothing goes silently: every discarded letter is counted (``evicted`` and
``discarded`` here, ``iotgw_ingest_dead_letters_dropped_total`` in the metrics) and
logged by the service. Each letter records the gateway of its topic, so an operator sees
who floods (``per_gateway``). The totals live in the file, in the same transaction as the
letters, so workers sharing the file agree on them.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from iotgw.devices import TopicError, parse_topic
from iotgw.ingest.config import DeadLetterLimits
from iotgw.ingest.errors import DeadLetterUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload BLOB NOT NULL
);
"""
# Added after the first release: a store written before them is migrated when opened.
_ADDED_COLUMNS = {
    "gateway": "TEXT NOT NULL DEFAULT ''",  # the topic's gateway ('' when the topic had none)
    "size": "INTEGER",  # the payload's size as received; NULL: as stored
}
_TOTALS = """
CREATE TABLE IF NOT EXISTS dead_letter_totals (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO dead_letter_totals
    SELECT 1, count(*), coalesce(sum(length(payload)), 0) FROM dead_letters;
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    received_ms: int
    topic: str
    reason: str
    payload: bytes
    gateway: str = ""
    size: int | None = None  # as received, when more than was kept

    @property
    def cut(self) -> bool:
        """Kept cut to the store's payload limit: it cannot be replayed."""
        return self.size is not None and self.size > len(self.payload)


def gateway_of(topic: str) -> str:
    """The gateway a topic names; '' for a topic outside the scheme."""
    try:
        return parse_topic(topic).gateway_id
    except TopicError:
        return ""


# Distinct gateways the per-gateway metric names; the rest are counted under OTHER, so a
# flood of made-up topics cannot grow the metrics without bound.
MAX_GATEWAY_LABELS = 1000
OTHER = "(other)"


def gateway_label(topic: str, seen: Mapping[str, int]) -> str:
    """The metrics label for a letter's gateway: its id, ``(none)`` for a topic outside the
    scheme, ``(other)`` past ``MAX_GATEWAY_LABELS`` distinct ones."""
    gateway = gateway_of(topic) or "(none)"
    return gateway if gateway in seen or len(seen) < MAX_GATEWAY_LABELS else OTHER


def _row(now_ms: int, topic: str, reason: str, payload: bytes,
         max_payload: int) -> tuple[int, str, str, bytes, str, int | None]:
    size = None
    if len(payload) > max_payload:
        size = len(payload)
        reason = (f"{reason} (payload cut to {max_payload} of {size} bytes,"
                  f" sha256 {hashlib.sha256(payload).hexdigest()})")
        payload = payload[:max_payload]
    return now_ms, topic, reason, payload, gateway_of(topic), size


class DeadLetterStore:
    def __init__(self, path: Path, limits: DeadLetterLimits | None = None) -> None:
        self.path = path
        self.limits = limits or DeadLetterLimits()
        self.evicted = 0  # older letters deleted to make room, by this process
        self.discarded = 0  # new letters not stored because the store was full
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")  # workers opening one file at once
                self._db.execute(_SCHEMA)
                present = {row[1] for row in self._db.execute("PRAGMA table_info(dead_letters)")}
                for column, declaration in _ADDED_COLUMNS.items():
                    if column not in present:
                        self._db.execute(f"ALTER TABLE dead_letters ADD COLUMN {column} {declaration}")
                for statement in _TOTALS.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise DeadLetterUnavailable(f"cannot open dead-letter store {path}: {exc}") from exc

    def add_many(self, items: Iterable[tuple[str, str, bytes]]) -> int:
        """Commit (topic, reason, payload) records in one transaction, within the limits;
        returns how many were stored (the rest are counted in ``discarded``)."""
        now_ms = int(time.time() * 1000)
        rows = [_row(now_ms, topic, reason, payload, self.limits.max_payload_bytes)
                for topic, reason, payload in items]
        if not rows:
            return 0
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                if self.limits.when_full == "drop_new":
                    rows = self._room_for(rows)
                self._db.executemany(
                    "INSERT INTO dead_letters (received_ms, topic, reason, payload, gateway, size)"
                    " VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("UPDATE dead_letter_totals SET rows = rows + ?, bytes = bytes + ?",
                                 (len(rows), sum(len(r[3]) for r in rows)))
                if self.limits.when_full == "drop_oldest":
                    self._evict_oldest()
        except sqlite3.Error as exc:
            raise DeadLetterUnavailable(f"cannot write dead-letter store {self.path}: {exc}") from exc
        return len(rows)

    def _room_for(self, rows: list[tuple[int, str, str, bytes, str, int | None]]
                  ) -> list[tuple[int, str, str, bytes, str, int | None]]:
        """The leading rows that fit under the limits; the others are counted as discarded."""
        count, size = self.totals()
        fit = 0
        for row in rows:
            if count + 1 > self.limits.max_rows or size + len(row[3]) > self.limits.max_bytes:
                break
            count, size, fit = count + 1, size + len(row[3]), fit + 1
        self.discarded += len(rows) - fit
        return rows[:fit]

    def _evict_oldest(self) -> None:
        count, size = self.totals()
        excess_rows = count - self.limits.max_rows
        excess_bytes = size - self.limits.max_bytes
        if excess_rows <= 0 and excess_bytes <= 0:
            return
        doomed, freed = [], 0
        for letter_id, length in self._db.execute(
                "SELECT id, length(payload) FROM dead_letters ORDER BY id"):
            if len(doomed) >= excess_rows and freed >= excess_bytes:
                break
            doomed.append(letter_id)
            freed += length
        self._db.executemany("DELETE FROM dead_letters WHERE id = ?", ((i,) for i in doomed))
        self._db.execute("UPDATE dead_letter_totals SET rows = rows - ?, bytes = bytes - ?",
                         (len(doomed), freed))
        self.evicted += len(doomed)

    def list(self, *, limit: int = 100) -> list[DeadLetter]:
        rows = self._db.execute(
            "SELECT id, received_ms, topic, reason, payload, gateway, size FROM dead_letters"
            " ORDER BY id LIMIT ?", (limit,))
        return [DeadLetter(*row) for row in rows]

    def delete(self, ids: list[int]) -> None:
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                for letter_id in ids:
                    for (length,) in self._db.execute(
                            "DELETE FROM dead_letters WHERE id = ? RETURNING length(payload)",
                            (letter_id,)).fetchall():
                        self._db.execute(
                            "UPDATE dead_letter_totals SET rows = rows - 1, bytes = bytes - ?", (length,))
        except sqlite3.Error as exc:
            raise DeadLetterUnavailable(f"cannot write dead-letter store {self.path}: {exc}") from exc

    def count(self) -> int:
        return self.totals()[0]

    def totals(self) -> tuple[int, int]:
        """(letters, payload bytes) in the store."""
        rows, size = self._db.execute("SELECT rows, bytes FROM dead_letter_totals").fetchone()
        return int(rows), int(size)

    def per_gateway(self) -> dict[str, int]:
        """Letters kept per gateway of their topic, most first: who floods."""
        return dict(self._db.execute(
            "SELECT gateway, count(*) AS n FROM dead_letters GROUP BY gateway ORDER BY n DESC, gateway"))

    def close(self) -> None:
        self._db.close()
