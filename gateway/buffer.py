"""The durable store-and-forward buffer: every reading is committed here before it is sent.

SQLite in WAL mode. Readings are stored as their wire JSON, so a batch is built by joining
rows, not by re-encoding. Row ids come from AUTOINCREMENT, so they only grow: the
publisher's cursor and the replay boundary compare ids across deletions and restarts.

A kill -9 or power cut at any moment leaves either the whole group commit or none of it
(SQLite's atomic commit); with ``synchronous=full`` a committed group survives a power cut.

The buffer is bounded, so a long outage can never fill the SD card: by ``max_bytes`` of
readings and by ``max_age_s``. When a group does not fit, ``drop_oldest`` (the default)
deletes the oldest readings a segment at a time (at least 1 % of the cap, so a full buffer
is not trimmed on every reading), and ``refuse_new`` keeps what is buffered and refuses
the new group. Readings older than ``max_age_s`` are dropped. When the disk under the
buffer has less than ``min_free_bytes`` free (other files filled it, or the cap is set
above the card's size), new groups are refused (``refused_disk``): the room left is what
SQLite needs to delete what the broker acknowledges, which is how the buffer empties
again; a disk filled to the last byte would leave the agent unable even to delete.
Every dropped or refused
reading is counted in ``meta``, so the counts survive restarts and reach the heartbeat.

Readings taken while the wall clock cannot be trusted (see ``gateway.clock``) wait in
``untimed`` with their monotonic time and boot; they are not sent. ``release_untimed``
gives them their time once the clock is trusted and moves them to ``readings``.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from devices import Quality, Reading
from gateway.errors import BufferUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payload TEXT NOT NULL,
    ts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS checkpoints (
    device TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS untimed (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    boot TEXT NOT NULL,
    mono_ms INTEGER NOT NULL,
    payload TEXT NOT NULL
);
"""

SEQ_BLOCK = 1_000
SEGMENT_FRACTION = 0.01

WhenFull = Literal["drop_oldest", "refuse_new"]


@dataclass(frozen=True, slots=True)
class Appended:
    """What one group commit did."""

    stored: int
    dropped_full: int = 0
    dropped_age: int = 0
    refused: int = 0
    refused_disk: int = 0


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 256 * 1024 * 1024
    max_age_s: float | None = None
    when_full: WhenFull = "drop_oldest"
    min_free_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Pending:
    """Buffered readings ready to go out as one message: their ids, and their wire JSON
    joined by commas (the message's ``readings`` array without its brackets)."""

    ids: list[int]
    body: str

    @property
    def first_id(self) -> int:
        return self.ids[0]


class Buffer:
    def __init__(self, path: Path, *, synchronous: str = "full", limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._synchronous = synchronous.upper()
            self._db.execute(f"PRAGMA synchronous={self._synchronous}")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(readings)")}
            if "ts" not in columns:  # a buffer written before the age cap existed
                self._db.execute("ALTER TABLE readings ADD COLUMN ts INTEGER NOT NULL DEFAULT 0")
            self._bytes = self._stored_bytes()
        except (OSError, sqlite3.Error) as exc:
            raise BufferUnavailable(f"cannot open buffer {path}: {exc}") from exc
        self.path = path

    def close(self) -> None:
        self._db.close()

    def append(
        self, readings: Iterable[Reading], checkpoints: Mapping[str, str], *, now_ms: int = 0,
    ) -> Appended:
        """Commit readings and their sources' checkpoints in one transaction (a group
        commit), within the limits; says what was stored, dropped and refused.

        The checkpoints are committed even when the group is refused: the readings were
        taken, and are counted as refused, not read again.
        """
        rows = [(r.model_dump_json(), r.ts) for r in readings]
        size = sum(len(payload) for payload, _ in rows)
        dropped_age = dropped_full = refused = refused_disk = 0
        try:
            with self._transaction():
                if self.limits.max_age_s is not None and now_ms:
                    dropped_age = self._drop_older_than(now_ms - int(self.limits.max_age_s * 1000))
                if rows and shutil.disk_usage(self.path.parent).free < self.limits.min_free_bytes + size:
                    refused_disk = len(rows)
                    self._count("refused_disk", refused_disk)
                    rows, size = [], 0
                if self._bytes + size > self.limits.max_bytes:
                    if self.limits.when_full == "refuse_new":
                        refused = len(rows)
                        self._count("refused", refused)
                        rows, size = [], 0
                    else:
                        dropped_full = self._drop_oldest(self._bytes + size - self.limits.max_bytes)
                self._db.executemany("INSERT INTO readings (payload, ts) VALUES (?, ?)", rows)
                self._bytes += size
                self._save_checkpoints(checkpoints)
        except sqlite3.Error as exc:
            self._bytes = self._stored_bytes()  # the transaction was rolled back
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc
        return Appended(len(rows), dropped_full, dropped_age, refused, refused_disk)

    def _save_checkpoints(self, checkpoints: Mapping[str, str]) -> None:
        self._db.executemany(
            "INSERT INTO checkpoints (device, state) VALUES (?, ?)"
            " ON CONFLICT(device) DO UPDATE SET state = excluded.state", checkpoints.items())

    def hold_untimed(self, readings: Iterable[Reading], checkpoints: Mapping[str, str], *,
                     boot: str, mono_ms: int) -> Appended:
        """Commit readings taken while the clock is not trusted, with their monotonic time.
        They count against ``max_bytes``; beyond it they are refused (and counted)."""
        rows = [(boot, mono_ms, r.model_dump_json()) for r in readings]
        size = sum(len(payload) for *_, payload in rows)
        refused = 0
        try:
            with self._transaction():
                if self._bytes + size > self.limits.max_bytes:
                    refused, rows, size = len(rows), [], 0
                    self._count("refused", refused)
                self._db.executemany(
                    "INSERT INTO untimed (boot, mono_ms, payload) VALUES (?, ?, ?)", rows)
                self._bytes += size
                self._save_checkpoints(checkpoints)
        except sqlite3.Error as exc:
            self._bytes = self._stored_bytes()
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc
        return Appended(len(rows), refused=refused)

    def untimed(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM untimed").fetchone()[0])

    def release_untimed(self, *, boot: str, offset_ms: int, now_ms: int) -> tuple[int, int]:
        """Give held readings their time and queue them for sending: those of this boot get
        ``mono_ms + offset_ms`` (the offset between wall and monotonic clock, now that the
        wall clock is trusted) and quality ``uncertain``; those of an earlier boot cannot
        be placed in time and get ``now_ms`` and quality ``bad`` (stored apart by ingest).
        Returns (corrected, uncorrectable)."""
        corrected = uncorrectable = 0
        try:
            with self._transaction():
                rows = self._db.execute(
                    "SELECT id, boot, mono_ms, payload FROM untimed ORDER BY id").fetchall()
                out = []
                for _, row_boot, mono_ms, payload in rows:
                    reading = Reading.model_validate_json(payload)
                    if row_boot == boot:
                        reading = reading.model_copy(update={"ts": mono_ms + offset_ms,
                                                             "quality": Quality.UNCERTAIN})
                        corrected += 1
                    else:
                        reading = reading.model_copy(update={"ts": now_ms, "quality": Quality.BAD})
                        uncorrectable += 1
                    out.append((reading.model_dump_json(), reading.ts))
                self._db.executemany("INSERT INTO readings (payload, ts) VALUES (?, ?)", out)
                self._db.execute("DELETE FROM untimed")
                self._count("clock_corrected", corrected)
                self._count("clock_uncorrectable", uncorrectable)
        except sqlite3.Error as exc:
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc
        finally:
            self._bytes = self._stored_bytes()
        return corrected, uncorrectable

    def _stored_bytes(self) -> int:
        return int(self._db.execute(
            "SELECT (SELECT coalesce(sum(length(payload)), 0) FROM readings)"
            " + (SELECT coalesce(sum(length(payload)), 0) FROM untimed)").fetchone()[0])

    def _drop_oldest(self, excess_bytes: int) -> int:
        """Delete the oldest readings covering ``excess_bytes``, at least a segment's worth."""
        target = max(excess_bytes, int(self.limits.max_bytes * SEGMENT_FRACTION))
        ids, freed = [], 0
        for row_id, size in self._db.execute(
                "SELECT id, length(payload) FROM readings ORDER BY id"):
            if freed >= target:
                break
            ids.append(row_id)
            freed += size
        self._db.executemany("DELETE FROM readings WHERE id = ?", ((i,) for i in ids))
        self._bytes -= freed
        self._count("dropped_full", len(ids))
        return len(ids)

    def _drop_older_than(self, cutoff_ms: int) -> int:
        freed, count = self._db.execute(
            "SELECT coalesce(sum(length(payload)), 0), count(*) FROM readings WHERE ts < ?",
            (cutoff_ms,)).fetchone()
        if count:
            self._db.execute("DELETE FROM readings WHERE ts < ?", (cutoff_ms,))
            self._bytes -= int(freed)
            self._count("dropped_age", int(count))
        return int(count)

    def _count(self, key: str, n: int) -> None:
        self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key)"
                         " DO UPDATE SET value = value + excluded.value", (key, n))

    def counters(self) -> dict[str, int]:
        """Readings dropped or refused by the limits, and held readings whose time was
        corrected or could not be, since the buffer was created."""
        keys = ("dropped_full", "dropped_age", "refused", "refused_disk", "clock_corrected",
                "clock_uncorrectable")
        found = dict(self._db.execute(
            f"SELECT key, value FROM meta WHERE key IN ({','.join('?' * len(keys))})", keys))
        return {key: int(found.get(key, 0)) for key in keys}

    @property
    def bytes(self) -> int:
        return self._bytes

    def checkpoints(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT device, state FROM checkpoints"))

    def take(
        self, *, after_id: int, max_readings: int, max_bytes: int, skip: set[int],
    ) -> Pending | None:
        """The oldest readings after ``after_id`` not in ``skip``, up to the batch limits.

        The common case (nothing to skip, ids without gaps, within the byte limit) is one
        query that SQLite joins itself: building a batch row by row in Python cost 3 µs a
        reading and was most of a backlog's drain time (bench/gateway_footprint.py). The
        subquery's order is the order group_concat sees (SQLite 3.40 has no ORDER BY in
        aggregates); the ids come as first and last, so a gap sends the batch the slow way.
        """
        if not skip:
            count, first, last, body, size = self._db.execute(
                "SELECT count(*), min(id), max(id), group_concat(payload, ','), sum(length(payload))"
                " FROM (SELECT id, payload FROM readings WHERE id > ? ORDER BY id LIMIT ?)",
                (after_id, max_readings)).fetchone()
            if count == 0:
                return None
            if last - first + 1 == count and size + count <= max_bytes:
                return Pending(list(range(first, last + 1)), body)
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
        return Pending(ids, ",".join(payloads)) if ids else None

    def delete(self, ids: Iterable[int]) -> None:
        """Delete what the broker acknowledged: by id range where the ids run without gaps
        (a drain's batches do), else by lists of ids.

        Deletes commit without waiting for the disk (``synchronous=NORMAL`` for their
        transaction; a kill -9 loses nothing, only a power cut can undo the last ones): a
        reading whose delete is undone is sent again, and InfluxDB stores a repeated point
        once. Waiting for the disk on every acknowledgement was a quarter of a drain.
        """
        ids = sorted(set(ids))
        try:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                with self._transaction():
                    for start in range(0, len(ids), 500):  # within SQLite's parameter limit
                        chunk = ids[start:start + 500]
                        if chunk[-1] - chunk[0] + 1 == len(chunk):
                            where, args = "id BETWEEN ? AND ?", [chunk[0], chunk[-1]]
                        else:
                            where, args = f"id IN ({','.join('?' * len(chunk))})", chunk
                        self._bytes -= int(self._db.execute(
                            f"SELECT coalesce(sum(length(payload)), 0) FROM readings WHERE {where}",
                            args).fetchone()[0])
                        self._db.execute(f"DELETE FROM readings WHERE {where}", args)
            finally:
                self._db.execute(f"PRAGMA synchronous={self._synchronous}")
        except sqlite3.Error as exc:
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc

    def oldest_ts(self) -> int | None:
        """Device time of the oldest buffered reading (what an outage has held back)."""
        row = self._db.execute("SELECT ts FROM readings ORDER BY id LIMIT 1").fetchone()
        return int(row[0]) if row else None

    def depth(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM readings").fetchone()[0])

    def max_id(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'readings'").fetchone()
        return int(row[0]) if row else 0

    def reserve_seq(self) -> range:
        """A block of batch sequence numbers no earlier run has used (gaps after a crash)."""
        try:
            with self._transaction():
                row = self._db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
                start = int(row[0]) if row else 0
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('seq', ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (start + SEQ_BLOCK,),
                )
        except sqlite3.Error as exc:
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc
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
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error:  # e.g. disk full at commit
            if self._db.in_transaction:  # SQLite may have rolled it back itself
                self._db.execute("ROLLBACK")
            raise
