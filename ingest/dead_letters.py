"""The dead-letter store: what ingest could not store, with topic, payload, reason and time.

A message is acknowledged to the broker only after its dead letter is committed here, so
a rejected message is kept, never dropped. SQLite (WAL, fsync on commit) on the ingest
host: nothing to install, survives a kill -9. Each ingest host keeps its own file; the
workers of ``--workers N`` share it (SQLite's file locking serialises their writes).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import DeadLetterUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload BLOB NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    received_ms: int
    topic: str
    reason: str
    payload: bytes


class DeadLetterStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise DeadLetterUnavailable(f"cannot open dead-letter store {path}: {exc}") from exc

    def add_many(self, items: Iterable[tuple[str, str, bytes]]) -> int:
        """Commit (topic, reason, payload) records in one transaction; returns how many."""
        now_ms = int(time.time() * 1000)
        rows = [(now_ms, topic, reason, payload) for topic, reason, payload in items]
        if rows:
            try:
                with self._db:
                    self._db.execute("BEGIN")
                    self._db.executemany(
                        "INSERT INTO dead_letters (received_ms, topic, reason, payload)"
                        " VALUES (?, ?, ?, ?)", rows)
            except sqlite3.Error as exc:
                raise DeadLetterUnavailable(
                    f"cannot write dead-letter store {self.path}: {exc}") from exc
        return len(rows)

    def list(self, *, limit: int = 100) -> list[DeadLetter]:
        rows = self._db.execute(
            "SELECT id, received_ms, topic, reason, payload FROM dead_letters"
            " ORDER BY id LIMIT ?", (limit,))
        return [DeadLetter(*row) for row in rows]

    def delete(self, ids: list[int]) -> None:
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("DELETE FROM dead_letters WHERE id = ?", ((i,) for i in ids))
        except sqlite3.Error as exc:
            raise DeadLetterUnavailable(f"cannot write dead-letter store {self.path}: {exc}") from exc

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0])

    def close(self) -> None:
        self._db.close()
