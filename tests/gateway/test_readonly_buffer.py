"""The buffer on a disk that goes read-only (a real ext4 emergency remount, see
``readonly_fs``): reads go on, writes fail as ``BufferUnavailable`` and clear
``writable``, counters noted meanwhile are reported and written once the disk is back,
and a buffer that cannot be opened for writing opens read-only instead of stopping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from iotgw.devices import Reading
from iotgw.gateway import Buffer
from iotgw.gateway.errors import BufferUnavailable
from iotgw.gateway.memory_queue import MemoryQueue

from tests.gateway.readonly_fs import FailingDisk

NOW = 1_763_800_000_000


def _readings(n: int, start: int = 0) -> list[Reading]:
    return [Reading(device="d1", ts=NOW + start + i, values={"voltage": 230.0}) for i in range(n)]


def _take_all(buffer: Buffer) -> int:
    pending = buffer.take(after_id=0, max_readings=10_000, max_bytes=10_000_000, skip=set())
    return pending.count if pending else 0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[FailingDisk]:
    disk = FailingDisk(tmp_path)
    yield disk
    disk.detach()


def test_a_disk_gone_read_only_is_read_and_recovered_without_loss(disk: FailingDisk) -> None:
    buffer = Buffer(disk.mount / "buffer.sqlite", fallback=True)
    buffer.append(_readings(30), {"d1": "30"})
    disk.fail()
    with pytest.raises(BufferUnavailable):
        buffer.delete([1])
    assert not buffer.writable
    with pytest.raises(BufferUnavailable, match="not writable"):
        buffer.append(_readings(5, 100), {})
    assert (buffer.depth(), _take_all(buffer)) == (30, 30)  # what it holds is still sent
    buffer.note("write_failed", 5)
    assert buffer.counters()["write_failed"] == 5  # reported from memory
    assert buffer.reserve_seq() != buffer.reserve_seq()  # unique within the run, unstored
    assert not buffer.recover()  # still read-only: the old connections stay in use
    assert buffer.depth() == 30
    disk.replace()
    assert buffer.recover() and buffer.writable
    buffer.delete([1])
    assert buffer.depth() == 0
    buffer.close()
    reopened = Buffer(disk.mount / "buffer.sqlite")
    assert reopened.counters()["write_failed"] == 5  # written once the disk came back
    assert reopened.checkpoints() == {"d1": "30"}
    reopened.close()


def test_a_buffer_on_a_read_only_disk_opens_read_only(disk: FailingDisk) -> None:
    buffer = Buffer(disk.mount / "buffer.sqlite")
    buffer.append(_readings(12), {})
    buffer.note("memory_dropped", 7)
    buffer.close()
    disk.fail()
    with pytest.raises(BufferUnavailable):
        Buffer(disk.mount / "buffer.sqlite")  # without the fallback, as before
    readonly = Buffer(disk.mount / "buffer.sqlite", fallback=True)
    assert not readonly.writable
    assert (readonly.depth(), _take_all(readonly), readonly.counters()["memory_dropped"]) == (12, 12, 7)
    readonly.close()
    missing = Buffer(disk.mount / "gone" / "buffer.sqlite", fallback=True)  # cannot even be made
    assert (missing.writable, missing.depth(), _take_all(missing)) == (False, 0, 0)
    with pytest.raises(BufferUnavailable):
        missing.append(_readings(1), {})
    missing.close()


def test_the_memory_queue_drops_its_oldest_when_full_and_requeues_undelivered() -> None:
    queue = MemoryQueue(10)
    assert queue.put(_readings(8)) == 0
    taken = queue.take(max_readings=5, max_bytes=1_000_000)
    assert taken is not None and len(taken[0]) == 5 and queue.in_flight == 5
    assert queue.put(_readings(10, 100)) == 8  # 5 in flight + 3 + 10 queued > 10: the 8 oldest go
    assert [r.ts for r in queue.drain()] == [NOW + 105 + i for i in range(5)] and len(queue) == 0
    queue.answered(taken[0], delivered=False)  # sent again, first
    assert queue.in_flight == 0 and [r.ts for r in queue.drain()] == [NOW + i for i in range(5)]
