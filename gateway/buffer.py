"""The durable store-and-forward buffer: every reading is committed here before it is sent.

SQLite in WAL mode. Readings are stored as their wire JSON in *chunks*: a group commit's
readings, one per line (JSON never holds a raw newline), cut so that a chunk never holds
more than one message may carry (``Limits.batch_readings`` and ``batch_bytes``, the agent's
batch limits). A batch is whole chunks, joined without re-encoding, and its confirmation
(ingest's ``stored``, or the PUBACK without end-to-end acknowledgement) deletes whole
rows, so SQLite handles a reading once on its way out, not once per reading read and
deleted: that is what bounds a backlog's drain rate (bench/gateway_footprint.py). Row ids
come from AUTOINCREMENT, so they only grow: the publisher's cursor and the replay boundary
compare ids across deletions and restarts. A buffer in the row-per-reading format (table
``readings``) is moved into chunks of one reading when opened.

A kill -9 or power cut at any moment leaves either the whole group commit or none of it
(SQLite's atomic commit); with ``synchronous=full`` a committed group survives a power cut.

The buffer is bounded, so a long outage can never fill the SD card: by ``max_bytes`` of
readings and by ``max_age_s`` (a reading already older when read, such as a device clock
in 1970, is dropped at once; a stored chunk goes when its newest reading is older, so no
reading is dropped younger than that). When a group does not fit, ``drop_oldest`` (the
default) deletes the oldest chunks a segment at a time (at least 1 % of the cap, so a full
buffer is not trimmed on every reading), and ``refuse_new`` keeps what is buffered and
refuses the new group. When the disk under the
buffer has less than ``min_free_bytes`` free (other files filled it, or the cap is set
above the card's size), new groups are refused (``refused_disk``): the room left is what
SQLite needs to delete what the broker acknowledges, which is how the buffer empties
again; a disk filled to the last byte would leave the agent unable even to delete.
Every dropped or refused
reading is counted in ``meta``, so the counts survive restarts and reach the heartbeat.

Readings taken while the wall clock cannot be trusted (see ``gateway.clock``) wait in
``untimed`` with their monotonic time and boot; they are not sent. ``release_untimed``
gives them their time once the clock is trusted and moves them into chunks.

A read-only or failing disk (an ext4 emergency remount) must not stop the agent. Opened
with ``fallback=True``, a buffer that cannot be opened for writing is opened read-only
(``?mode=ro``), or, when the file is missing on a read-only filesystem, as an empty
in-memory stand-in; ``writable`` says which holds, and every write then raises
``BufferUnavailable`` without touching the disk. A failed write also clears ``writable``.
``recover()`` opens the file again for writing (the filesystem may have been remounted)
and proves it with a write. Counters noted while the buffer is not writable (``note``) are
reported from memory and written to ``meta`` once it is.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from iotgw.devices import Quality, Reading
from iotgw.gateway.errors import BufferUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    count INTEGER NOT NULL,
    size INTEGER NOT NULL,  -- characters of the readings' JSON, separators not counted
    oldest_ts INTEGER NOT NULL,
    newest_ts INTEGER NOT NULL,
    payload TEXT NOT NULL  -- last: its overflow pages are read only when it is asked for
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
    batch_readings: int = 500  # a chunk's most readings and characters: one message's
    batch_bytes: int = 256_000


@dataclass(frozen=True, slots=True)
class Pending:
    """Buffered readings ready to go out as one message: their chunks' ids, their wire
    JSON joined by commas (the message's ``readings`` array without its brackets), and how
    many readings that is."""

    ids: list[int]
    body: str
    count: int

    @property
    def first_id(self) -> int:
        return self.ids[0]


class Buffer:
    def __init__(self, path: Path, *, synchronous: str = "full", limits: Limits | None = None,
                 fallback: bool = False) -> None:
        self.limits = limits or Limits()
        self.path = path
        self._synchronous = synchronous
        self._unsaved: dict[str, int] = {}  # counters noted while the buffer was not writable
        self._seq_handed = 0  # end of the last sequence block handed out by this process
        self.writable = True
        try:
            self._db, self._deletes = self._open()
        except BufferUnavailable:
            if not fallback:
                raise
            self.writable = False
            self._db = self._deletes = self._open_read_only()
        self._bytes = self._stored_bytes()

    def _open(self) -> tuple[sqlite3.Connection, sqlite3.Connection]:
        """The writing and the deleting connection, the schema made and migrated."""
        db = deletes = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self._synchronous.upper()}")
            # Deletes go through their own connection, whose commits do not wait for the disk.
            deletes = sqlite3.connect(self.path, isolation_level=None)
            deletes.execute("PRAGMA synchronous=NORMAL")
            for conn in (db, deletes):
                # Debian's and most Pythons' SQLite zero every freed page (SECURE_DELETE):
                # a chunk's 20 pages written again at each PUBACK, the SD card's wear and
                # two thirds of a delete's time. Readings are no secret on their own gateway.
                conn.execute("PRAGMA secure_delete=FAST")
            db.executescript(_SCHEMA)
            self._db = db
            self._migrate()
            return db, deletes
        except (OSError, sqlite3.Error) as exc:
            for conn in (db, deletes):
                if conn is not None:
                    conn.close()
            raise BufferUnavailable(f"cannot open buffer {self.path}: {exc}") from exc

    def _open_read_only(self) -> sqlite3.Connection:
        """The file opened read-only; an empty in-memory stand-in when it cannot be read."""
        for query in ("mode=ro", "immutable=1"):  # immutable: when no -shm can be made for WAL
            try:
                db = sqlite3.connect(f"file:{self.path}?{query}", uri=True, isolation_level=None)
                db.execute("SELECT count(*) FROM chunks").fetchone()
                db.execute("SELECT count(*) FROM untimed").fetchone()
                return db
            except sqlite3.Error:
                continue
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.executescript(_SCHEMA)
        return db

    def _writing(self) -> None:
        if not self.writable:
            raise BufferUnavailable(f"buffer {self.path} is not writable (read-only or failing disk)")

    def recover(self) -> bool:
        """Open the file for writing again and prove it with a write (the noted counters);
        True once the buffer is writable. On failure the old connections stay in use."""
        if self.writable:
            return True
        old = (self._db, self._deletes)
        try:
            fresh = self._open()  # sets self._db while migrating
        except BufferUnavailable:
            self._db = old[0]
            return False
        self._db, self._deletes = fresh
        self.writable = True
        try:
            self._flush_noted()
        except BufferUnavailable:
            for conn in fresh:
                conn.close()
            self._db, self._deletes = old
            self.writable = False
            return False
        for conn in set(old):
            conn.close()
        self._bytes = self._stored_bytes()
        return True

    def note(self, key: str, n: int) -> None:
        """Add to a counter in ``meta``; held in memory (and reported) until writable."""
        self._unsaved[key] = self._unsaved.get(key, 0) + n
        if self.writable:
            with suppress(BufferUnavailable):  # reported from memory until it can be written
                self._flush_noted()

    def _flush_noted(self) -> None:
        try:
            with self._transaction():
                for key, n in self._unsaved.items():
                    self._count(key, n)
                self._count("writable_checks", 1)
        except sqlite3.Error as exc:
            self.writable = False
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc
        self._unsaved.clear()

    def close(self) -> None:
        self._deletes.close()
        self._db.close()  # closing twice (a read-only buffer's one connection) is harmless

    def _migrate(self) -> None:
        """Move rows of the row-per-reading format (table ``readings``) into chunks."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(readings)")}
        if not columns:
            return
        ts = "ts" if "ts" in columns else "0"  # before the age cap, rows had no time
        with self._transaction():
            self._db.execute(
                "INSERT INTO chunks (count, size, oldest_ts, newest_ts, payload)"
                f" SELECT 1, length(payload), {ts}, {ts}, payload FROM readings ORDER BY id")
            self._db.execute("DROP TABLE readings")

    def _insert(self, rows: list[tuple[str, int]]) -> None:
        """Store (JSON, time) rows as chunks within the batch limits."""
        self._store(_cut(rows, self.limits.batch_readings, self.limits.batch_bytes))

    def _store(self, chunks: list[Chunk]) -> None:
        self._db.executemany(
            "INSERT INTO chunks (count, size, oldest_ts, newest_ts, payload) VALUES (?, ?, ?, ?, ?)", chunks)

    def append(
        self, readings: Iterable[Reading], checkpoints: Mapping[str, str], *, now_ms: int = 0,
    ) -> Appended:
        """Commit readings and their sources' checkpoints in one transaction (a group
        commit), within the limits; says what was stored, dropped and refused.

        The checkpoints are committed even when the group is refused: the readings were
        taken, and are counted as refused, not read again.
        """
        self._writing()
        rows = [(r.model_dump_json(), r.ts) for r in readings]
        dropped_age = dropped_full = refused = refused_disk = 0
        cutoff = (now_ms - int(self.limits.max_age_s * 1000)
                  if self.limits.max_age_s is not None and now_ms else None)
        if cutoff is not None:  # too old already when read (a device's clock in 1970)
            young = [row for row in rows if row[1] >= cutoff]
            dropped_age, rows = len(rows) - len(young), young
        size = sum(len(payload) for payload, _ in rows)
        try:
            with self._transaction():
                if dropped_age:
                    self._count("dropped_age", dropped_age)
                if cutoff is not None:
                    dropped_age += self._drop_older_than(cutoff)
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
                self._insert(rows)
                self._bytes += size
                self._save_checkpoints(checkpoints)
        except sqlite3.Error as exc:
            self._bytes = self._stored_bytes()  # the transaction was rolled back
            self.writable = False
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
        self._writing()
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
            self.writable = False
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
        self._writing()
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
                self._insert(out)
                self._db.execute("DELETE FROM untimed")
                self._count("clock_corrected", corrected)
                self._count("clock_uncorrectable", uncorrectable)
        except sqlite3.Error as exc:
            self.writable = False
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc
        finally:
            self._bytes = self._stored_bytes()
        return corrected, uncorrectable

    def _stored_bytes(self) -> int:
        return int(self._db.execute(
            "SELECT (SELECT coalesce(sum(size), 0) FROM chunks)"
            " + (SELECT coalesce(sum(length(payload)), 0) FROM untimed)").fetchone()[0])

    def _drop_oldest(self, excess_bytes: int) -> int:
        """Delete the oldest chunks covering ``excess_bytes``, at least a segment's worth."""
        target = max(excess_bytes, int(self.limits.max_bytes * SEGMENT_FRACTION))
        last, freed, count = 0, 0, 0
        for row_id, size, n in self._db.execute("SELECT id, size, count FROM chunks ORDER BY id"):
            if freed >= target:
                break
            last, freed, count = row_id, freed + size, count + n
        self._db.execute("DELETE FROM chunks WHERE id <= ?", (last,))
        self._bytes -= freed
        self._count("dropped_full", count)
        return count

    def _drop_older_than(self, cutoff_ms: int) -> int:
        freed, count = self._db.execute(
            "SELECT coalesce(sum(size), 0), coalesce(sum(count), 0) FROM chunks WHERE newest_ts < ?",
            (cutoff_ms,)).fetchone()
        if count:
            self._db.execute("DELETE FROM chunks WHERE newest_ts < ?", (cutoff_ms,))
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
                "clock_uncorrectable", "write_failed", "memory_held", "memory_dropped")
        found = dict(self._db.execute(
            f"SELECT key, value FROM meta WHERE key IN ({','.join('?' * len(keys))})", keys))
        return {key: int(found.get(key, 0)) + self._unsaved.get(key, 0) for key in keys}

    @property
    def bytes(self) -> int:
        return self._bytes

    def checkpoints(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT device, state FROM checkpoints"))

    def take(
        self, *, after_id: int, max_readings: int, max_bytes: int, skip: set[int],
    ) -> Pending | None:
        """The oldest chunks after ``after_id`` not in ``skip``, as many as the batch
        limits allow; a single reading larger than a message goes alone."""
        ids: list[int] = []
        count = size = 0
        rows = self._db.execute("SELECT id, count, size FROM chunks WHERE id > ? ORDER BY id", (after_id,))
        for row_id, n, chars in rows:
            if row_id in skip:
                continue
            fits = count + n <= max_readings and size + chars + count + n - 1 <= max_bytes
            if not fits and ids:
                break
            if not fits and n > 1:  # a chunk stored under larger batch limits than today's
                rows.close()
                self._split(row_id, max_readings, max_bytes)
                return self.take(after_id=after_id, max_readings=max_readings, max_bytes=max_bytes,
                                 skip=skip)
            ids.append(row_id)
            count, size = count + n, size + chars
            if not fits:
                break
        rows.close()
        if not ids:
            return None
        payloads = self._db.execute(
            f"SELECT payload FROM chunks WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id", ids)
        return Pending(ids, ",".join(p.replace("\n", ",") for (p,) in payloads), count)

    def _split(self, chunk_id: int, max_readings: int, max_bytes: int) -> None:
        """Cut a chunk that no longer fits one message: it keeps its first part, and the
        rest is stored again after everything buffered. The readings keep their times, so
        the order they reach InfluxDB in does not matter."""
        try:
            with self._transaction():
                (payload,) = self._db.execute("SELECT payload FROM chunks WHERE id = ?",
                                              (chunk_id,)).fetchone()
                rows = [(line, Reading.model_validate_json(line).ts) for line in payload.split("\n")]
                head, *rest = _cut(rows, max_readings, max_bytes)
                self._db.execute("UPDATE chunks SET count = ?, size = ?, oldest_ts = ?, newest_ts = ?,"
                                 " payload = ? WHERE id = ?", (*head, chunk_id))
                self._store(rest)
        except sqlite3.Error as exc:
            self.writable = False
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc

    def delete(self, ids: Iterable[int]) -> None:
        """Delete the chunks whose messages ingest confirmed stored (or, without end-to-end
        acknowledgement, the broker acknowledged).

        Each statement is its own transaction, on a connection whose commits do not wait
        for the disk (``synchronous=NORMAL``): a kill -9 loses nothing, only a power cut can
        undo the last deletes, and a reading whose delete is undone is sent again, which
        InfluxDB stores once. Waiting for the disk on every acknowledgement was a quarter
        of a drain, and each statement more a pass through the GIL against paho's thread.
        """
        self._writing()
        ids = sorted(set(ids))
        try:
            for start in range(0, len(ids), 500):  # within SQLite's parameter limit
                chunk = ids[start:start + 500]
                self._bytes -= sum(size for (size,) in self._deletes.execute(
                    f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(chunk))}) RETURNING size", chunk))
        except sqlite3.Error as exc:
            self.writable = False
            raise BufferUnavailable(f"cannot write buffer {self.path}: {exc}") from exc

    def oldest_ts(self) -> int | None:
        """Device time of the oldest buffered reading (what an outage has held back)."""
        row = self._db.execute("SELECT oldest_ts FROM chunks ORDER BY id LIMIT 1").fetchone()
        return int(row[0]) if row else None

    def depth(self) -> int:
        return int(self._db.execute("SELECT coalesce(sum(count), 0) FROM chunks").fetchone()[0])

    def max_id(self) -> int:
        row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'chunks'").fetchone()
        return int(row[0]) if row else 0

    def reserve_seq(self) -> range:
        """A block of batch sequence numbers no earlier run has used (gaps after a crash).
        While the buffer is not writable the block is not stored: unique within this run
        only (a restart on the same read-only disk may repeat numbers)."""
        if not self.writable:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
            start = max(int(row[0]) if row else 0, self._seq_handed)
            self._seq_handed = start + SEQ_BLOCK
            return range(start, start + SEQ_BLOCK)
        try:
            with self._transaction():
                row = self._db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
                start = int(row[0]) if row else 0
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('seq', ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (start + SEQ_BLOCK,),
                )
            self._seq_handed = start + SEQ_BLOCK
        except sqlite3.Error as exc:
            self.writable = False
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


Chunk = tuple[int, int, int, int, str]  # count, size, oldest_ts, newest_ts, payload


def _cut(rows: list[tuple[str, int]], max_readings: int, max_bytes: int) -> list[Chunk]:
    """(JSON, time) rows as chunks of at most ``max_readings`` whose JSON joined by commas
    is at most ``max_bytes`` characters (one message's); a larger reading is one chunk."""
    chunks: list[Chunk] = []
    start = size = 0
    for i, (payload, _) in enumerate(rows):
        if i > start and (i - start >= max_readings or size + len(payload) + i - start > max_bytes):
            chunks.append(_chunk(rows[start:i], size))
            start, size = i, 0
        size += len(payload)
    if rows:
        chunks.append(_chunk(rows[start:], size))
    return chunks


def _chunk(rows: list[tuple[str, int]], size: int) -> Chunk:
    times = [ts for _, ts in rows]
    return len(rows), size, min(times), max(times), "\n".join(payload for payload, _ in rows)
