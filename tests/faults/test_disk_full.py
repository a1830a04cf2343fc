"""The disk under the gateway's buffer fills up (a 16 MB tmpfs, as root; the byte cap set
far above it, as on a mis-sized SD card): below ``min_free_bytes`` the agent refuses and
counts new readings, keeps publishing what it holds, and the buffer stays intact."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from iotgw.gateway import Agent, build_sources
from iotgw.simulators import SimulatedSource

from tests.e2e.spine import Spine
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DEVICES, SAMPLES = 50, 1_000  # 7.5 MB of readings


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, f"mounting a tmpfs needs root (CI runs as root): {result.stderr}"


def test_a_full_disk_refuses_counted_and_the_buffer_survives(spine: Spine, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "16m")
    try:
        spine.start_ingest()
        [cfg] = spine.fleet(1, DEVICES, SAMPLES, interval_s=0.01)
        cfg = cfg.model_copy(update={"buffer": cfg.buffer.model_copy(update={
            "path": disk / "buffer.sqlite", "min_free_bytes": 6 * 1024 * 1024})})  # SQLite's WAL fits in it
        spine.broker.stop()  # nothing drains: the buffer grows until the disk is full
        agent = spine.start_gateway(cfg)
        spine.wait_until(lambda: "(disk nearly full)" in agent.log_path.read_text(),
                         timeout_s=60, what="the disk to fill")
        time.sleep(1.0)
        assert agent.running, agent.log_tail()  # a crash would restart into the same full disk
        spine.broker.start()
        assert agent.wait(120) == 0, agent.log_tail()

        with sqlite3.connect(cfg.buffer.path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT count(*) FROM chunks").fetchone() == (0,)

        def refused() -> float:
            series = spine.influx.query(spine.database, 'SELECT last("refused_disk") FROM '
                                        f'"gateway_health" WHERE "gateway" = \'{cfg.gateway_id}\'')
            return series[0].rows[0]["last"] if series else 0.0

        spine.wait_until(lambda: refused() > 0, timeout_s=30, what="a heartbeat with the refusals")
        sent = DEVICES * SAMPLES
        spine.wait_for_count(sent - int(refused()), timeout_s=30)
        time.sleep(1.0)
        ledger.policy("disk full under the gateway buffer (16 MB tmpfs)", sent=sent,
                      stored=spine.count(), counted=int(refused()),
                      what="refused while full, buffer intact")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, timeout=10)


def test_a_disk_filled_to_the_last_byte_loses_counted_readings_and_the_agent_goes_on(
    spine: Spine, tmp_path: Path,
) -> None:
    """With no free-space floor (``min_free_bytes = 0``) SQLite itself fails at the full
    disk: the agent counts the readings it could not write and keeps running, and the
    buffer is intact."""
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "1m")
    try:
        [cfg] = spine.fleet(1, 50, 1_000, interval_s=0.01)
        cfg = cfg.model_copy(update={"buffer": cfg.buffer.model_copy(update={
            "path": disk / "buffer.sqlite", "min_free_bytes": 0})})
        spine.broker.stop()
        agents: list[Agent] = []  # built in its thread, which alone may use its buffer

        def run() -> None:
            agents.append(Agent(cfg, build_sources(cfg.devices, {"simulated": SimulatedSource})))
            agents[0].run(stop)

        stop = threading.Event()
        thread = threading.Thread(target=run)
        thread.start()
        try:
            spine.wait_until(lambda: bool(agents) and agents[0].stats.write_failed > 0, timeout_s=60,
                             what="a failed write")
            time.sleep(1.0)
            assert thread.is_alive()
        finally:
            stop.set()
            thread.join(30)
        agent = agents[0]
        with sqlite3.connect(cfg.buffer.path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            kept = db.execute("SELECT coalesce(sum(count), 0) FROM chunks").fetchone()[0]
            # A group larger than the space left is refused before SQLite tries (counted too).
            refused = db.execute("SELECT coalesce(sum(value), 0) FROM meta WHERE key = 'refused_disk'"
                                 ).fetchone()[0]
        ledger.policy("disk filled to the last byte (1 MB tmpfs, no floor)", sent=agent.stats.read,
                      stored=kept, counted=agent.stats.write_failed + refused,
                      what="lost and counted, buffer intact")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, timeout=10)
