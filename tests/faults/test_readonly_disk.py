"""The SD card under the gateway's buffer fails and ext4 remounts it read-only (a real
loop-mounted ext4 image and the kernel's error trigger, see tests/gateway/readonly_fs.py),
while the agent runs with a backlog: it keeps running, publishes the backlog (acknowledged
chunks it cannot delete are not sent again), holds new readings in memory and publishes
them, says so in its heartbeat; once a writable disk is back everything is delivered.
Started again on the read-only disk, it runs instead of crash-looping."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from iotgw.gateway import GatewayConfig

from tests.e2e.spine import Spine, tally
from tests.faults import ledger
from tests.gateway.readonly_fs import FailingDisk

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DEVICES, SAMPLES, INTERVAL_S = 10, 400, 0.02  # 4000 readings over 8 s


def _on(disk: FailingDisk, cfg: GatewayConfig) -> GatewayConfig:
    return cfg.model_copy(update={"buffer": cfg.buffer.model_copy(update={
        "path": disk.mount / "buffer.sqlite", "min_free_bytes": 0})})


def _depth(path: Path) -> int:
    """Readings in the buffer; 0 while the agent has created the file but not yet its table."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'chunks'").fetchone() is None:
            return 0
        return int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks").fetchone()[0])


def _last_health(spine: Spine, gateway_id: str, field: str) -> float | None:
    series = spine.influx.query(spine.database, f'SELECT last("{field}") FROM "gateway_health"'
                                f' WHERE "gateway" = \'{gateway_id}\'')
    return series[0].rows[0]["last"] if series else None


def _read_only_while_running(spine: Spine, tmp_path: Path, memory_queue_readings: int,
                             ) -> tuple[list[GatewayConfig], dict[str, int]]:
    """The fault, played through: returns the fleet and the buffer's counters at the end."""
    disk = FailingDisk(tmp_path)
    try:
        spine.start_ingest()
        fleet = spine.fleet(1, DEVICES, SAMPLES, interval_s=INTERVAL_S)
        cfg = _on(disk, fleet[0])
        cfg = cfg.model_copy(update={"buffer": cfg.buffer.model_copy(update={
            "memory_queue_readings": memory_queue_readings})})
        spine.broker.stop()  # a backlog builds up in the buffer
        agent = spine.start_gateway(cfg)
        spine.wait_until(lambda: cfg.buffer.path.exists() and _depth(cfg.buffer.path) >= 1_000,
                         timeout_s=30, what="a backlog of 1000 readings")
        disk.fail()
        backlog = _depth(cfg.buffer.path)
        spine.broker.start()
        # The backlog and what was read since (held in memory) are published while read-only.
        spine.wait_until(lambda: spine.count() >= backlog + min(500, memory_queue_readings), timeout_s=60,
                         what="the backlog and readings from memory published from a read-only disk")
        spine.wait_until(lambda: _last_health(spine, cfg.gateway_id, "buffer_readonly") == 1.0,
                         timeout_s=30, what="a heartbeat saying the buffer is read-only")
        assert (_last_health(spine, cfg.gateway_id, "memory_held") or 0) > 0
        assert agent.running, agent.log_tail()
        assert _depth(cfg.buffer.path) == backlog  # nothing could be deleted meanwhile
        disk.replace()
        assert agent.wait(120) == 0, agent.log_tail()  # drained: the buffer emptied on the new disk
        with sqlite3.connect(cfg.buffer.path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT count(*) FROM chunks").fetchone() == (0,)
            counters = dict(db.execute("SELECT key, value FROM meta"))
        # counted in memory while read-only, written once writable
        assert counters.get("memory_held", 0) > 0
        assert counters.get("write_failed", 0) == counters.get("memory_dropped", 0)  # lost: only drops
        return fleet, counters
    finally:
        disk.detach()


def test_a_disk_gone_read_only_keeps_the_agent_publishing_and_loses_nothing(
    spine: Spine, tmp_path: Path,
) -> None:
    fleet, counters = _read_only_while_running(spine, tmp_path, memory_queue_readings=10_000)
    assert counters.get("memory_dropped", 0) == 0
    ledger.none_lost("buffer's disk read-only while the agent runs (ext4 emergency remount)",
                     tally(spine, fleet))


def test_a_full_memory_queue_drops_its_oldest_counted(spine: Spine, tmp_path: Path) -> None:
    _, counters = _read_only_while_running(spine, tmp_path, memory_queue_readings=100)
    spine.wait_for_count(DEVICES * SAMPLES - counters.get("memory_dropped", 0), timeout_s=30)
    time.sleep(1.0)
    # The group commit the disk was writing when it failed is reported failed and held in
    # memory, but may have reached the disk (and be sent from the buffer): if the queue then
    # drops it, it is counted as lost and arrives all the same. At most one group: DEVICES.
    ledger.policy("buffer's disk read-only, memory queue of 100 readings", sent=DEVICES * SAMPLES,
                  stored=spine.count(), counted=counters.get("memory_dropped", 0),
                  what="oldest in memory dropped", ambiguous=DEVICES)


def test_an_agent_started_on_a_read_only_buffer_runs_and_publishes_it(
    spine: Spine, tmp_path: Path,
) -> None:
    disk = FailingDisk(tmp_path)
    try:
        spine.start_ingest()
        [cfg] = spine.fleet(1, DEVICES, SAMPLES, interval_s=INTERVAL_S)
        cfg = _on(disk, cfg)
        spine.broker.stop()
        first = spine.start_gateway(cfg)
        spine.wait_until(lambda: cfg.buffer.path.exists() and _depth(cfg.buffer.path) >= 1_000,
                         timeout_s=30, what="a backlog of 1000 readings")
        first.kill()
        disk.fail()
        backlog = _depth(cfg.buffer.path)
        restarted = spine.start_gateway(cfg)  # as systemd would
        spine.broker.start()
        spine.wait_until(lambda: spine.count() >= backlog, timeout_s=60,
                         what="the read-only buffer's backlog published")
        spine.wait_until(lambda: _last_health(spine, cfg.gateway_id, "buffer_readonly") == 1.0,
                         timeout_s=30, what="a heartbeat saying the buffer is read-only")
        time.sleep(2.0)
        assert restarted.running, restarted.log_tail()  # no crash loop
        restarted.kill()
    finally:
        disk.detach()
