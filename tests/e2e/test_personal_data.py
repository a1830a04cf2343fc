"""Household meters' readings are personal data: through the real spine (a gateway's
message, ingest with the registry, the rollup, the API) they are stored, aggregated and
read in the personal database only, and a farm's beside them in the main one."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from fastapi.testclient import TestClient
from iotgw.api import ApiConfig, create_app
from iotgw.api.auth import create_token
from iotgw.devices.links import RegistryLink
from iotgw.registry import ApiRole, Ward, make_engine, seed_admin_units, session_factory, upgrade
from iotgw.registry.csv_import import import_rows
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.periods import local_day
from iotgw.rollup.service import RollupService
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig
from iotgw.tsdb.schema import (
    DEVICE_HOURLY,
    ROLLUP_RP,
    TELEMETRY,
    TELEMETRY_BAD,
    TOUCHED_HOURS,
    personal_database,
)
from sqlalchemy import select

from tests.e2e.spine import Spine

pytestmark = pytest.mark.integration

PROVINCE = 82
READINGS = 5


def register_household_and_farm(url: str, gateway: str) -> str:
    """A household's meter and a farm's soil probe on one gateway of province 82, imported
    as an operator imports them; returns a token of that province."""
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as s, s.begin():
        seed_admin_units(s)
        ward = s.scalar(select(Ward.code).where(Ward.province_code == PROVINCE).order_by(Ward.code))
        since = "2025-07-01"
        rows = {
            "organisations": [
                {"id": "home-1", "name": "Hộ 1", "type": "household_meter_point", "sector": "energy",
                 "ward_code": ward, "since": since},
                {"id": "farm-1", "name": "Trại 1", "type": "farm", "sector": "agriculture",
                 "ward_code": ward, "since": since}],
            "gateways": [{"id": gateway, "ward_code": ward, "installed_on": since}],
            "devices": [{"id": device, "gateway_id": gateway, "profile": profile, "sector": sector,
                         "expected_interval_s": 60, "installed_on": since, "ward_code": ward,
                         "organisation_id": org}
                        for device, profile, sector, org in (
                            ("meter-1", "electricity_meter", "energy", "home-1"),
                            ("soil-1", "soil_probe", "agriculture", "farm-1"))],
        }
        for kind, records in rows.items():
            import_rows(s, kind, enumerate(records, start=2), source=f"{kind}.json")
        token = create_token(s, "province", ApiRole.PROVINCE, province=PROVINCE)
    engine.dispose()
    return token


def _points(influx: InfluxClient, database: str, device: str, measurements: tuple[str, ...] = (
        f'"{TELEMETRY}"', f'"{TELEMETRY_BAD}"')) -> int:
    return sum(len(s.rows) for m in measurements for s in influx.query(
        database, f"SELECT * FROM {m} WHERE \"device\" = '{device}'"))


def test_a_households_readings_are_stored_and_rolled_up_apart_and_read_by_its_province(
        spine: Spine) -> None:
    url = f"sqlite:///{spine.workdir / 'registry.sqlite'}"
    gateway = f"{spine.name}-gw"
    token = register_household_and_farm(url, gateway)
    spine.start_ingest(registry_url=url)
    now_ms = int(time.time() * 1000) // 60_000 * 60_000
    times = [now_ms - n * 60_000 for n in range(READINGS)]
    readings = [{"device": "meter-1", "ts": ts, "values": {"active_energy": 100.0 + n}}
                for n, ts in enumerate(reversed(times))]
    readings += [{"device": "soil-1", "ts": ts, "values": {"soil_moisture": 30.0}} for ts in times]
    spine.publish_raw(gateway, [json.dumps({"v": 1, "gateway": gateway, "seq": 1,
                                            "readings": readings}).encode()])
    main, personal = spine.database, personal_database(spine.database)
    spine.wait_until(lambda: personal in spine.databases(), what="ingest to create the personal database")
    spine.wait_until(lambda: _points(spine.influx, personal, "meter-1") == READINGS
                     and _points(spine.influx, main, "soil-1") == READINGS,
                     what="both devices' readings stored")
    assert _points(spine.influx, main, "meter-1") == 0
    assert _points(spine.influx, personal, "soil-1") == 0
    assert spine.influx.query(main, f'SELECT * FROM "{TOUCHED_HOURS}"')  # the rollup learns of both
    assert not spine.dead_letters()

    influx_cfg = InfluxConfig(url=spine.influxd.url, database=main)
    rollup = RollupService(RollupConfig(influx=influx_cfg, registry=RegistryLink(url=url)))
    day = local_day(now_ms)
    try:
        rollup.backfill(day - dt.timedelta(days=1), day)
    finally:
        rollup.influx.close()
    hourly = (f'"{ROLLUP_RP}"."{DEVICE_HOURLY}"',)
    assert _points(spine.influx, personal, "meter-1", hourly) >= 1
    assert _points(spine.influx, main, "meter-1", hourly) == 0
    assert _points(spine.influx, main, "soil-1", hourly) >= 1

    api = ApiConfig(influx=influx_cfg, registry=RegistryLink(url=url), usage_flush_s=0.2)
    first_hour_ms = times[-1] - times[-1] % 3_600_000  # where the hourly points are
    window = {"from": dt.datetime.fromtimestamp(first_hour_ms / 1000, dt.UTC).isoformat(),
              "to": dt.datetime.fromtimestamp((now_ms + 1) / 1000, dt.UTC).isoformat()}
    with TestClient(create_app(api)) as client:
        got = client.get("/v1/devices/meter-1/readings", params={**window, "resolution": "raw"},
                         headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 200, got.text
        assert [r["active_energy"] for r in got.json()["readings"]] == [100.0 + n for n in range(READINGS)]
        hours = client.get("/v1/devices/meter-1/readings", params={**window, "resolution": "hour"},
                           headers={"Authorization": f"Bearer {token}"})
        assert hours.status_code == 200 and hours.json()["readings"], hours.text
