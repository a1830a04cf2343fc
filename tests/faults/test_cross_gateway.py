"""A gateway speaks only for its own devices: gateway A's account publishes readings for a
household meter placed on gateway B in another province. With the registry, ingest
dead-letters them ("device X is not on gateway A at T"), stores nothing under the
victim's tags, and a good gateway's traffic beside it arrives whole."""

from __future__ import annotations

import json
import time

import pytest
from iotgw.registry import Ward, make_engine, seed_admin_units, session_factory, upgrade
from iotgw.registry.csv_import import import_rows
from iotgw.tsdb.schema import TELEMETRY, TELEMETRY_BAD, personal_database
from sqlalchemy import select

from tests.e2e.spine import Spine, tally
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def _register(url: str, fleet_gateway: str, fleet_devices: list[str], attacker: str) -> None:
    """The fleet's and the attacker's gateways in a ward of province 1, a household meter on
    gateway victim-gw in province 82, imported as an operator imports them."""
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as s, s.begin():
        seed_admin_units(s)
        here, there = (s.scalar(select(Ward.code).where(Ward.province_code == p).order_by(Ward.code))
                       for p in (1, 82))
        since = "2025-07-01"
        rows = {
            "organisations": [{"id": "home-v", "name": "Hộ 1", "type": "household_meter_point",
                               "sector": "energy", "ward_code": there, "since": since}],
            "gateways": [{"id": gw, "ward_code": ward, "installed_on": since}
                         for gw, ward in ((fleet_gateway, here), (attacker, here), ("victim-gw", there))],
            "devices": [{"id": device, "gateway_id": gateway, "profile": "electricity_meter",
                         "sector": "energy", "expected_interval_s": 60, "installed_on": since,
                         "ward_code": ward, "organisation_id": org}
                        for device, gateway, ward, org in (
                            *((d, fleet_gateway, here, None) for d in fleet_devices),
                            ("meter-v", "victim-gw", there, "home-v"))],
        }
        for kind, records in rows.items():
            import_rows(s, kind, enumerate(records, start=2), source=f"{kind}.json")
    engine.dispose()


def test_a_gateway_cannot_write_another_gateways_device(spine: Spine) -> None:
    url = f"sqlite:///{spine.workdir / 'registry.sqlite'}"
    [cfg] = spine.fleet(1, 3, 30, interval_s=0.05)
    attacker = f"{spine.name}-atk"
    _register(url, cfg.gateway_id, [d.id for d in cfg.devices], attacker)
    worker = spine.start_ingest(registry_url=url)
    gateway = spine.start_gateway(cfg)
    now_ms = int(time.time() * 1000)
    forged = [{"device": "meter-v", "ts": now_ms - n * 1000, "values": {"active_energy": 1e6}}
              for n in range(5)]
    spine.publish_raw(attacker, [json.dumps({"v": 1, "gateway": attacker, "seq": 1,
                                             "readings": forged}).encode()])
    assert gateway.wait(90) == 0, gateway.log_tail()
    good = tally(spine, [cfg])
    spine.wait_until(lambda: len(spine.dead_letters()) >= 5, timeout_s=30, what="5 dead letters")
    letters = spine.dead_letters()
    victim_points = sum(len(series.rows) for measurement in (TELEMETRY, TELEMETRY_BAD)
                        for database in (spine.database, personal_database(spine.database))
                        for series in spine.influx.query(
                            database, f"SELECT * FROM \"{measurement}\" WHERE device = 'meter-v'"))
    refused = (len(letters) == 5 and victim_points == 0 and all(
        f"device meter-v is not on gateway {attacker} at " in x.reason and x.reason.endswith("(on victim-gw)")
        for x in letters))
    alive = worker.proc is not None and worker.proc.poll() is None
    ledger.refused("cross-gateway device: A's account writes B's household meter",
                   ok=refused and alive and good.lost == good.wrong == 0,
                   verdict=f"{len(letters)} of 5 dead-lettered, {victim_points} stored under the victim;"
                           f" ingest running: {alive}; good gateway {good.stored}/{good.sent} stored")
