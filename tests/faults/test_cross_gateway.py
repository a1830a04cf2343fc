"""A gateway speaks only for its own devices: gateway A's account publishes readings for a
household meter placed on gateway B in another province. With the registry, ingest
dead-letters them ("device X is not on gateway A at T"), stores nothing under the
victim's tags, and a good gateway's traffic beside it arrives whole."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from sqlalchemy import select

from registry import (
    Device,
    Gateway,
    Organisation,
    OrgType,
    Sector,
    SubjectKind,
    Ward,
    make_engine,
    place,
    seed_admin_units,
    session_factory,
)
from registry.db import upgrade
from tests.e2e.spine import Spine, tally
from tests.faults import ledger
from tsdb.schema import TELEMETRY, TELEMETRY_BAD

pytestmark = [pytest.mark.integration, pytest.mark.faults]

PLACED = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


def _register(url: str, fleet_gateway: str, fleet_devices: list[str], attacker: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as s, s.begin():
        seed_admin_units(s)
        here = s.scalar(select(Ward.code).where(Ward.province_code == 1).order_by(Ward.code))
        there = s.scalar(select(Ward.code).where(Ward.province_code == 82).order_by(Ward.code))
        s.add(Organisation(id="home-v", name="Hộ 1", type=OrgType.HOUSEHOLD_METER_POINT,
                           sector=Sector.ENERGY))
        for gateway in (fleet_gateway, attacker, "victim-gw"):
            s.add(Gateway(id=gateway, installed_on=PLACED.date()))
        for device in (*fleet_devices, "meter-v"):
            s.add(Device(id=device, profile="electricity_meter", sector=Sector.ENERGY,
                         expected_interval_s=60, installed_on=PLACED.date()))
        s.flush()
        place(s, SubjectKind.ORGANISATION, "home-v", at=PLACED, ward_code=there)
        for gateway, ward in ((fleet_gateway, here), (attacker, here), ("victim-gw", there)):
            place(s, SubjectKind.GATEWAY, gateway, at=PLACED, ward_code=ward)
        for device in fleet_devices:
            place(s, SubjectKind.DEVICE, device, at=PLACED, ward_code=here, gateway_id=fleet_gateway)
        place(s, SubjectKind.DEVICE, "meter-v", at=PLACED, ward_code=there, gateway_id="victim-gw",
              organisation_id="home-v")
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
                        for series in spine.influx.query(
                            spine.database, f"SELECT * FROM \"{measurement}\" WHERE device = 'meter-v'"))
    refused = (len(letters) == 5 and victim_points == 0 and all(
        f"device meter-v is not on gateway {attacker} at " in x.reason and x.reason.endswith("(on victim-gw)")
        for x in letters))
    alive = worker.proc is not None and worker.proc.poll() is None
    ledger.refused("cross-gateway device: A's account writes B's household meter",
                   ok=refused and alive and good.lost == good.wrong == 0,
                   verdict=f"{len(letters)} of 5 dead-lettered, {victim_points} stored under the victim;"
                           f" ingest running: {alive}; good gateway {good.stored}/{good.sent} stored")
