"""The durable buffer: ordering, batching, checkpoints, and surviving kill -9 mid-write."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from iotgw.devices import Reading
from iotgw.gateway import Buffer
from iotgw.gateway.buffer import Limits, Pending


def _reading(n: int, device: str = "d1") -> Reading:
    return Reading(device=device, ts=1_700_000_000_000 + n, values={"voltage": 220.0 + n % 10})


def _times(pending: Pending | None) -> list[int]:
    assert pending is not None
    return [r["ts"] for r in json.loads(f"[{pending.body}]")]


def test_batches_are_whole_chunks_oldest_first_within_the_limits(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite", limits=Limits(batch_readings=4))
    buffer.append([_reading(n) for n in range(10)], {"d1": "10"})  # chunks of 4, 4 and 2
    two = buffer.take(after_id=0, max_readings=8, max_bytes=1_000_000, skip=set())
    assert two is not None and (two.ids, two.count) == ([1, 2], 8)
    assert _times(two) == [_reading(n).ts for n in range(8)]
    assert buffer.take(after_id=0, max_readings=7, max_bytes=1_000_000, skip=set()).ids == [1]
    four = len(",".join(_reading(n).model_dump_json() for n in range(4)))
    assert buffer.take(after_id=0, max_readings=100, max_bytes=four, skip=set()).ids == [1]
    assert buffer.take(after_id=0, max_readings=100, max_bytes=four + 10, skip=set()).ids == [1]
    rest = buffer.take(after_id=0, max_readings=8, max_bytes=1_000_000, skip={1})
    assert rest is not None and (rest.ids, rest.count) == ([2, 3], 6)


def test_a_chunk_larger_than_todays_batches_is_cut_and_nothing_is_lost(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite")  # stored in one chunk of 10 ...
    buffer.append([_reading(n) for n in range(10)], {})
    buffer.append([_reading(10)], {})
    cursor, batches = 0, []  # ... sent after the batch limit went down to 4
    while (pending := buffer.take(after_id=cursor, max_readings=4, max_bytes=10**6, skip=set())):
        batches.append(_times(pending))
        cursor = pending.ids[-1]
    assert [len(b) for b in batches] == [4, 1, 4, 2]  # the cut's rest goes after chunk 2
    assert sorted(t for b in batches for t in b) == [_reading(n).ts for n in range(11)]
    assert buffer.depth() == 11 and buffer.bytes == buffer._stored_bytes()


def test_acknowledged_chunks_are_deleted_and_the_bytes_follow(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite")
    for n in range(10):
        buffer.append([_reading(n * 100 + i) for i in range(100)], {})
    buffer.delete([3])
    cursor, batches = 0, []
    while (pending := buffer.take(after_id=cursor, max_readings=250, max_bytes=10**6, skip=set())):
        batches.append(pending)
        cursor = pending.ids[-1]
    assert [b.ids for b in batches] == [[1, 2], [4, 5], [6, 7], [8, 9], [10]]
    assert [t for b in batches for t in _times(b)] == [
        _reading(n).ts for n in range(1_000) if not 200 <= n < 300]
    buffer.delete([1, 2, 5, 6, 7, 8, 9, 10])
    assert buffer.depth() == 100 and buffer.bytes == buffer._stored_bytes()


def test_a_buffer_of_an_earlier_version_is_moved_into_chunks(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with sqlite3.connect(path) as db:  # a row per reading, as written before chunks
        db.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                   " payload TEXT NOT NULL, ts INTEGER NOT NULL DEFAULT 0)")
        db.executemany("INSERT INTO readings (payload, ts) VALUES (?, ?)",
                       [(_reading(n).model_dump_json(), _reading(n).ts) for n in range(3)])
    buffer = Buffer(path)
    assert buffer.depth() == 3 and buffer.bytes == sum(len(_reading(n).model_dump_json()) for n in range(3))
    assert _times(buffer.take(after_id=0, max_readings=10, max_bytes=10**6, skip=set())) == [
        _reading(n).ts for n in range(3)]
    buffer.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'readings'").fetchone() is None


def test_ids_keep_growing_after_everything_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    buffer = Buffer(path)
    buffer.append([_reading(n) for n in range(3)], {})
    buffer.delete([1])
    buffer.close()
    buffer = Buffer(path)
    buffer.append([_reading(9)], {})
    assert buffer.depth() == 1 and buffer.max_id() == 2
    assert buffer.take(after_id=1, max_readings=10, max_bytes=10_000, skip=set()).ids == [2]


def test_sequence_blocks_never_repeat_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    first = Buffer(path).reserve_seq()
    second = Buffer(path).reserve_seq()
    assert first.stop <= second.start


def test_checkpoints_are_stored_with_their_readings(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite")
    buffer.append([_reading(1)], {"d1": "1"})
    buffer.append([_reading(2, "d2")], {"d2": "7"})
    buffer.append([_reading(3)], {"d1": "2"})
    assert buffer.checkpoints() == {"d1": "2", "d2": "7"}


WRITER = """
import sys
from pathlib import Path
from iotgw.devices import Reading
from iotgw.gateway import Buffer
from iotgw.gateway.buffer import Limits
buffer = Buffer(Path(sys.argv[1]))
n = 0
print("writing", flush=True)
while True:
    batch = [Reading(device=f"d{i}", ts=1_700_000_000_000 + n, values={"voltage": 230.0})
             for i in range(20)]
    n += 1
    buffer.append(batch, {f"d{i}": str(n) for i in range(20)})
    if n % 7 == 0:
        buffer.delete([n - 6])  # the chunk of group n - 6
"""


@pytest.mark.integration
@pytest.mark.parametrize("run_s", [0.3, 0.8, 1.5])
def test_kill_9_during_writes_leaves_a_consistent_buffer(tmp_path: Path, run_s: float) -> None:
    path = tmp_path / "b.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"writing\n"
    time.sleep(run_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    buffer = Buffer(path)
    assert buffer.integrity_ok()
    # Every group commit is whole: each device's checkpoint counts exactly the groups written.
    groups = {int(v) for v in buffer.checkpoints().values()}
    assert len(groups) == 1
    n = groups.pop()
    assert n > 0
    # Deletes are their own transaction, after every 7th group: a kill between that group
    # and its delete leaves the group's predecessor-to-delete in place, nothing else.
    whole = (n - n // 7) * 20
    assert buffer.depth() == whole or (n % 7 == 0 and buffer.depth() == whole + 20)


NOW = 1_763_800_000_000


def _group(start: int, n: int = 20, *, ts: int = NOW) -> list[Reading]:
    return [Reading(device=f"d{i}", ts=ts + start * 100 + i, values={"voltage": 230.0})
            for i in range(n)]


def test_drop_oldest_keeps_the_newest_within_the_cap_and_counts(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite", limits=Limits(max_bytes=20_000))
    appended = 0
    for n in range(30):
        buffer.append(_group(n), {}, now_ms=NOW)
        appended += 20
        assert buffer.bytes <= 20_000
    counters = buffer.counters()
    assert counters["dropped_full"] > 0 and counters["refused"] == 0
    assert buffer.depth() + counters["dropped_full"] == appended  # nothing unaccounted for
    newest = buffer.take(after_id=0, max_readings=10_000, max_bytes=10**9, skip=set())
    assert newest is not None and newest.ids[-1] == 30  # the last group is all there
    assert newest.ids[0] > 1 and newest.count == buffer.depth()  # the first ones went


def test_refuse_new_keeps_what_is_buffered_and_counts(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite", limits=Limits(max_bytes=10_000, when_full="refuse_new"))
    stored = sum(buffer.append(_group(n), {"d0": str(n)}, now_ms=NOW).stored for n in range(20))
    assert stored == buffer.depth() and buffer.bytes <= 10_000
    refused = buffer.append(_group(99), {"d0": "99"}, now_ms=NOW)
    assert (refused.stored, refused.refused) == (0, 20)
    assert stored + buffer.counters()["refused"] == 21 * 20  # every reading accounted for
    assert buffer.checkpoints() == {"d0": "99"}  # the readings were taken: not read again


def test_readings_older_than_max_age_are_dropped_and_counted(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite", limits=Limits(max_age_s=60))
    assert buffer.append(_group(0, ts=NOW - 120_000), {}, now_ms=NOW - 120_000).dropped_age == 0
    # At now - 30 s the first group (now - 120 s) is 90 s old: past the 60 s cap.
    assert buffer.append(_group(1, ts=NOW - 30_000), {}, now_ms=NOW - 30_000).dropped_age == 20
    assert buffer.append(_group(2), {}, now_ms=NOW).dropped_age == 0  # 30 s old: kept
    assert buffer.depth() == 40 and buffer.counters()["dropped_age"] == 20


def test_counts_and_size_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    buffer = Buffer(path, limits=Limits(max_bytes=5_000))
    for n in range(10):
        buffer.append(_group(n), {}, now_ms=NOW)
    size, counters = buffer.bytes, buffer.counters()
    buffer.delete([buffer.max_id()])
    after_delete = buffer.bytes
    assert after_delete < size
    buffer.close()
    reopened = Buffer(path, limits=Limits(max_bytes=5_000))
    assert reopened.bytes == after_delete and reopened.counters() == counters
