"""Moves are first-class (issue 26), end to end with real processes and a SQLite registry.

1. A device moved to another commune while readings taken before the move wait in its
   gateway's buffer: when they are delivered after the move, each reading is tagged by
   where its device was at the reading's time (before: the old commune; after: the new).
2. Readings dead-lettered because the registry had not been told yet (a device moved to
   another gateway: ``foreign_device``; a device not registered yet: ``unregistered``) are
   stored once the move or registration is recorded and ``iotgw ingest replay`` runs.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from pathlib import Path

import pytest
from iotgw.gateway import GatewayConfig
from iotgw.registry import Ward, make_engine, seed_admin_units, session_factory, upgrade
from iotgw.registry.csv_import import import_rows
from iotgw.tsdb.schema import TELEMETRY
from sqlalchemy import select

from iotgw.processes import free_port
from tests.e2e.spine import Spine, tally
from tests.faults import ledger
from tests.faults.ledger import Tally
from tests.iotgw.test_cli import iotgw

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SINCE = "2025-07-01"


def _registry(spine: Spine, gateways: list[str], devices: list[tuple[str, str]]) -> tuple[str, int, int]:
    """Gateways and (device, gateway) pairs imported as an operator imports them, all in the
    first ward of province 1; returns the registry's URL, that ward and a second one."""
    url = f"sqlite:///{spine.workdir / 'registry.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as s, s.begin():
        seed_admin_units(s)
        here, there = s.scalars(select(Ward.code).where(Ward.province_code == 1, Ward.retired_on.is_(None))
                                .order_by(Ward.code).limit(2))
        rows = {
            "gateways": [{"id": gw, "ward_code": here, "installed_on": SINCE} for gw in gateways],
            "devices": [{"id": device, "gateway_id": gw, "profile": "electricity_meter", "sector": "energy",
                         "expected_interval_s": 60, "installed_on": SINCE, "ward_code": here}
                        for device, gw in devices],
        }
        for kind, records in rows.items():
            import_rows(s, kind, enumerate(records, start=2), source=f"{kind}.json")
    engine.dispose()
    return url, here, there


def _buffered(cfg: GatewayConfig) -> tuple[int, int]:
    """Readings waiting in the gateway's SQLite buffer, and the newest one's time (ms)."""
    if not cfg.buffer.path.exists():
        return 0, 0
    with sqlite3.connect(cfg.buffer.path) as db:
        count, newest = db.execute("SELECT coalesce(sum(count), 0), coalesce(max(newest_ts), 0)"
                                   " FROM chunks").fetchone()
    return int(count), int(newest)


def test_a_device_moved_while_readings_are_buffered(spine: Spine) -> None:
    [cfg] = spine.fleet(1, 3, 60, interval_s=0.1)
    devices = [d.id for d in cfg.devices]
    mover = devices[0]
    url, here, there = _registry(spine, [cfg.gateway_id], [(d, cfg.gateway_id) for d in devices])
    spine.start_ingest(registry_url=url)
    # The broker is out of the gateway's reach (nothing listens on that port): it polls into
    # its buffer; then the agent is stopped with part of its samples buffered, none sent.
    cut_off = cfg.model_copy(update={"broker": cfg.broker.model_copy(update={"port": free_port()})})
    offline = spine.start_gateway(cut_off)
    spine.wait_until(lambda: _buffered(cfg)[0] >= 3 * 10, timeout_s=30, what="30 buffered readings")
    offline.stop()
    held, newest_ms = _buffered(cfg)
    assert 0 < held < 3 * 60, f"{held} buffered: the run must stop part-way"
    time.sleep(0.05)
    moved_at = dt.datetime.now(dt.UTC)
    moved_ms = int(moved_at.timestamp() * 1000)
    assert newest_ms < moved_ms
    moved = iotgw("registry", "move", "device", mover, "--at", moved_at.isoformat(), "--ward", str(there),
                  "--url", url)
    assert moved.returncode == 0, moved.stderr
    # Back in reach: the backlog (taken before the move) and the rest of the samples go out.
    gateway = spine.start_gateway(cfg)
    assert gateway.wait(90) == 0, gateway.log_tail()
    result = tally(spine, [cfg])
    stored = spine.stored()
    communes: dict[str, set[str]] = {"before": set(), "after": set()}
    wrong = []
    for device in devices:
        for row in stored[device]:
            expected = there if device == mover and row["time"] >= moved_ms else here
            if device == mover:
                communes["before" if row["time"] < moved_ms else "after"].add(row["commune"])
            if row["commune"] != str(expected):
                wrong.append(f"{device} at {row['time']}: commune {row['commune']}, not {expected}")
    before = sum(row["time"] < moved_ms for row in stored[mover])
    after = len(stored[mover]) - before
    assert before > 0 and after > 0, f"{before} readings before the move and {after} after: both must be"
    ledger.none_lost("a device moved while readings are buffered", Tally(
        result.sent, result.stored, result.lost, result.duplicated, result.wrong + len(wrong),
        (*wrong, *result.problems)))
    assert communes == {"before": {str(here)}, "after": {str(there)}}


def _forged(gateway: str, device: str, first_ms: int, n: int) -> bytes:
    readings = [{"device": device, "ts": first_ms + i * 1000, "values": {"active_energy": 100.0 + i}}
                for i in range(n)]
    return json.dumps({"v": 1, "gateway": gateway, "seq": 1, "readings": readings}).encode()


def _points(spine: Spine, device: str, gateway: str) -> int:
    series = spine.influx.query(spine.database, f"SELECT count(\"quality\") FROM \"{TELEMETRY}\""
                                                f" WHERE device = '{device}' AND gateway = '{gateway}'")
    return int(series[0].rows[0]["count"]) if series else 0


def test_dead_letters_of_an_unrecorded_move_or_registration_are_stored_after_replay(
        spine: Spine, tmp_path: Path) -> None:
    old_gw, new_gw = f"{spine.name}-a", f"{spine.name}-b"
    moved, newcomer = f"{spine.name}-m1", f"{spine.name}-m2"
    url, here, _ = _registry(spine, [old_gw, new_gw], [(moved, old_gw)])
    spine.start_ingest(registry_url=url)
    first_ms = int(time.time() * 1000) - 30_000
    # The meter was carried to gateway b, and a new one installed there, before the registry knew.
    spine.publish_raw(new_gw, [_forged(new_gw, moved, first_ms, 5), _forged(new_gw, newcomer, first_ms, 5)])
    spine.wait_until(lambda: len(spine.dead_letters()) >= 10, timeout_s=30, what="10 dead letters")
    reasons = [letter.reason for letter in spine.dead_letters()]
    assert sum(f"device {moved} is not on gateway {new_gw} at " in r for r in reasons) == 5, reasons
    assert sum(r == f"device {newcomer}: not in the registry" for r in reasons) == 5, reasons
    # The operator records both: the move at the time it happened, the newcomer by import.
    at = dt.datetime.fromtimestamp((first_ms - 60_000) / 1000, dt.UTC).isoformat()
    recorded = iotgw("registry", "move", "device", moved, "--at", at, "--gateway", new_gw, "--url", url)
    assert recorded.returncode == 0, recorded.stderr
    csv = tmp_path / "devices.csv"
    csv.write_text("id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code\n"
                   f"{newcomer},{new_gw},electricity_meter,energy,60,{SINCE},{here}\n")
    imported = iotgw("registry", "import", "devices", str(csv), "--url", url)
    assert imported.returncode == 0, imported.stderr
    registry = spine.ingest_configs[0].registry
    assert registry is not None
    time.sleep(registry.refresh_s + 0.5)  # ingest's tag cache sees a change within refresh_s
    replay = iotgw("ingest", "replay", "--config", str(spine.workdir / "ingest-1.toml"))
    assert replay.returncode == 0 and "replayed 10, kept 0" in replay.stderr, replay.stderr
    spine.wait_until(lambda: _points(spine, moved, new_gw) + _points(spine, newcomer, new_gw) >= 10,
                     timeout_s=30, what="10 replayed readings stored")
    time.sleep(1.0)  # a reading dead-lettered again would show up now
    assert (_points(spine, moved, new_gw), _points(spine, newcomer, new_gw)) == (5, 5)
    assert spine.dead_letters() == []
