"""The durable buffer: ordering, batching, checkpoints, and surviving kill -9 mid-write."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices import Reading
from gateway import Buffer
from gateway.buffer import Limits


def _reading(n: int, device: str = "d1") -> Reading:
    return Reading(device=device, ts=1_700_000_000_000 + n, values={"voltage": 220.0 + n % 10})


def test_readings_come_out_oldest_first_within_batch_limits(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite")
    buffer.append([_reading(n) for n in range(10)], {"d1": "10"})
    first = buffer.take(after_id=0, max_readings=4, max_bytes=1_000_000, skip=set())
    assert first is not None and first.ids == [1, 2, 3, 4]
    assert [r["ts"] for r in json.loads(f"[{first.body}]")] == [_reading(n).ts for n in range(4)]
    by_bytes = buffer.take(after_id=0, max_readings=100, max_bytes=len(_reading(0).model_dump_json()) * 2 + 2,
                           skip=set())
    assert by_bytes is not None and by_bytes.ids == [1, 2]
    skipping = buffer.take(after_id=0, max_readings=3, max_bytes=1_000_000, skip={1, 2, 3, 4})
    assert skipping is not None and skipping.ids == [5, 6, 7]


def test_a_batch_is_the_same_whether_sqlite_or_python_builds_it(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite")
    buffer.append([_reading(n) for n in range(1_000)], {})
    buffer.delete(range(300, 310))  # a gap: SQLite's batch would span it, so Python builds it
    assert buffer.bytes == buffer._stored_bytes()
    cursor, batches = 0, []
    while (joined := buffer.take(after_id=cursor, max_readings=128, max_bytes=10**6, skip=set())):
        by_rows = buffer.take(after_id=cursor, max_readings=128, max_bytes=10**6, skip={0})  # row by row
        assert (joined.ids, joined.body) == (by_rows.ids, by_rows.body)
        batches.append(joined)
        cursor = joined.ids[-1]
    ids = [i for b in batches for i in b.ids]
    assert ids == [*range(1, 300), *range(310, 1_001)]
    times = [r["ts"] for b in batches for r in json.loads(f"[{b.body}]")]
    assert times == [_reading(n).ts for n in range(1_000) if not 299 <= n < 309]
    buffer.delete(ids[:500] + ids[600:])
    assert buffer.depth() == 100 and buffer.bytes == buffer._stored_bytes()


def test_ids_keep_growing_after_everything_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    buffer = Buffer(path)
    buffer.append([_reading(n) for n in range(3)], {})
    buffer.delete([1, 2, 3])
    buffer.close()
    buffer = Buffer(path)
    buffer.append([_reading(9)], {})
    assert buffer.depth() == 1 and buffer.max_id() == 4
    assert buffer.take(after_id=3, max_readings=10, max_bytes=10_000, skip=set()).ids == [4]


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
from devices import Reading
from gateway import Buffer
from gateway.buffer import Limits
buffer = Buffer(Path(sys.argv[1]))
n = 0
print("writing", flush=True)
while True:
    batch = [Reading(device=f"d{i}", ts=1_700_000_000_000 + n, values={"voltage": 230.0})
             for i in range(20)]
    n += 1
    buffer.append(batch, {f"d{i}": str(n) for i in range(20)})
    if n % 7 == 0:
        buffer.delete(range((n - 7) * 20 + 1, (n - 6) * 20 + 1))
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
    assert newest is not None and newest.ids[-1] == appended  # the last group is all there
    assert newest.ids[0] > 1  # the first ones went


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
