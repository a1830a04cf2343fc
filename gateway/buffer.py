"""The durable store-and-forward buffer: every reading is committed here before it is sent.

SQLite in WAL mode. Readings are stored as their wire JSON, so a batch is built by joining
rows, not by re-encoding. Row ids come from AUTOINCREMENT, so they only grow: the
publisher's cursor and the replay boundary compare ids across deletions and restarts.

A kill -9 or power cut at any moment leaves either the whole group commit or none of it
(SQLite's atomic commit); with ``synchronous=full`` a committed group survives a power cut.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devices import Reading
from gateway.errors import BufferUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    device TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

SEQ_BLOCK = 1_000


@dataclass(frozen=True, slots=True)
class Pending:
    """Buffered readings ready to go out as one message."""

    ids: list[int]
    payloads: list[str]

    @property
    def first_id(self) -> int:
        return self.ids[0]


class Buffer:
    def __init__(self, path: Path, *, synchronous: str = "full") -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise BufferUnavailable(f"cannot open buffer {path}: {exc}") from exc
        self.path = path

    def close(self) -> None:
        self._db.close()

    def append(self, readings: Iterable[Reading], checkpoints: Mapping[str, str]) -> None:
        """Commit readings and their sources' checkpoints in one transaction (a group commit)."""
        try:
            with self._transaction():
                self._db.executemany(
                    "INSERT INTO readings (payload) VALUES (?)",
                    ((r.model_dump_json(),) for r in readings),
                )
                self._db.executemany(
                    "INSERT INTO checkpoints (device, state) VALUES (?, ?)"
                    " ON CONFLICT(device) DO UPDATE SET state = excluded.state",
                    checkpoints.items(),
                )
        except sqlite3.Error as exc:
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc

    def checkpoints(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT device, state FROM checkpoints"))

    def take(
        self, *, after_id: int, max_readings: int, max_bytes: int, skip: set[int],
    ) -> Pending | None:
        """The oldest readings after ``after_id`` not in ``skip``, up to the batch limits."""
        ids: list[int] = []
        payloads: list[str] = []
        size = 0
        rows = self._db.execute(
            "SELECT id, payload FROM readings WHERE id > ? ORDER BY id", (after_id,))
        for row_id, payload in rows:
            if row_id in skip:
                continue
            if ids and size + len(payload) + 1 > max_bytes:
                break
            ids.append(row_id)
            payloads.append(payload)
            size += len(payload) + 1
            if len(ids) >= max_readings:
                break
        rows.close()
        return Pending(ids, payloads) if ids else None

    def delete(self, ids: Iterable[int]) -> None:
        try:
            with self._transaction():
                self._db.executemany("DELETE FROM readings WHERE id = ?", ((i,) for i in ids))
        except sqlite3.Error as exc:
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc

    def depth(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM readings").fetchone()[0])

    def max_id(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").fetchone()
        return int(row[0]) if row else 0

    def reserve_seq(self) -> range:
        """A block of batch sequence numbers no earlier run has used (gaps after a crash)."""
        with self._transaction():
            row = self._db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
            start = int(row[0]) if row else 0
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('seq', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (start + SEQ_BLOCK,),
            )
        return range(start, start + SEQ_BLOCK)

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
