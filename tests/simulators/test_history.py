"""Compressed time: backdated readings in the real buffer, with the gateways' off days."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

from iotgw.gateway.config import BrokerConfig
from iotgw.simulators.history import DAY_MS, backfill, offline_windows
from iotgw.simulators.scenario import GatewayFaults, build_fleet, gateway_configs, load_scenario

NOW_MS = 1_795_000_000_000  # 2026-11-18


def test_offline_windows_are_repeatable_and_as_frequent_as_configured() -> None:
    faults = GatewayFaults(offline_per_day=0.25, offline_hours=6)
    start = NOW_MS - 400 * DAY_MS
    windows = offline_windows("gw-1", 7, faults, start, NOW_MS)
    assert windows == offline_windows("gw-1", 7, faults, start, NOW_MS)
    assert windows != offline_windows("gw-2", 7, faults, start, NOW_MS)
    assert 70 <= len(windows) <= 130  # 100 expected; sigma about 9
    assert all(start <= a < b <= NOW_MS and b - a <= 6 * 3_600_000 for a, b in windows)
    assert offline_windows("gw-1", 7, GatewayFaults(), start, NOW_MS) == []


def test_backfill_writes_every_slot_outside_the_windows_in_time_order(tmp_path: Path) -> None:
    fleet = build_fleet(load_scenario("dong_thap"))
    [config] = gateway_configs(fleet, broker=BrokerConfig(), buffer_dir=tmp_path, interval_s=10)[:1]
    config = config.model_copy(update={"devices": [d.model_copy(update={"faults": None})
                                                   for d in config.devices]})
    start = NOW_MS - 2 * DAY_MS
    window = (start + DAY_MS, start + DAY_MS + 3 * 3_600_000)
    progress: list[int] = []
    counts = backfill(config, start_ms=start, end_ms=NOW_MS, interval_s=900, windows=[window],
                      now_ms=NOW_MS, on_progress=progress.append)
    devices = len(config.devices)
    assert counts["offline"] == 12 * devices  # 3 hours of 15-minute slots
    assert counts["read"] == (2 * 96 - 12) * devices
    assert sum(progress) == 2 * DAY_MS
    with sqlite3.connect(config.buffer.path) as db:
        rows = [json.loads(line) for (chunk,) in db.execute("SELECT payload FROM chunks ORDER BY id")
                for line in chunk.split("\n")]
    assert len(rows) == counts["read"]
    for device in config.devices:
        times = [r["ts"] for r in rows if r["device"] == device.id]
        assert times == sorted(times) and len(times) == 2 * 96 - 12
        assert {b - a for a, b in itertools.pairwise(times)} <= {900_000, 900_000 * 13}
        assert not [t for t in times if window[0] <= t < window[1]]
        assert start <= times[0] < start + 900_000


def test_backfill_counts_the_devices_faults_and_the_buffers_age_limit(tmp_path: Path) -> None:
    fleet = build_fleet(load_scenario("dong_thap"), scale=0.5)
    configs = gateway_configs(fleet, broker=BrokerConfig(), buffer_dir=tmp_path, interval_s=10)
    counts = backfill(configs[0], start_ms=NOW_MS - 20 * DAY_MS, end_ms=NOW_MS, interval_s=300,
                      windows=[], now_ms=NOW_MS)
    slots = 20 * 288 * len(configs[0].devices)
    assert counts["dropout"] > 0 and counts["duplicate"] > 0
    assert counts["read"] == slots - counts["dropout"] + counts["duplicate"]
    assert counts["dropped_age"] == counts["epoch_1970"] > 0  # a 1970 clock is older than max_age_s
