"""A province with data, rolled up, behind the API: real influxd, a SQLite registry.

Đồng Tháp (82): two farms and a cooperative (one farm with an active soil probe, the
cooperative an API user), an air station, an SME, and two households with smart meters
(fewer than the suppression threshold of 5). Readings for one day, written as ingest
writes them, then rolled up by the real rollup service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from iotgw.api import ApiConfig, create_app
from iotgw.api.auth import create_token
from iotgw.devices.links import RegistryLink
from iotgw.registry import (
    ApiRole,
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
    upgrade,
)
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.periods import local_midnight_ms
from iotgw.rollup.service import RollupService
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig
from iotgw.tsdb.schema import HOUR_MS, create_storage, personal_database
from sqlalchemy import select

from iotgw.processes import Influxd

DAY = dt.date(2026, 3, 10)
PLACED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PROVINCE = 82
MIN = 60_000


@dataclass
class Stack:
    client: TestClient
    tokens: dict[str, str]
    wards: list[int]
    influx: InfluxClient
    database: str
    registry_url: str
    cfg: ApiConfig

    def get(self, path: str, who: str | None = "ministry", **params: object):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.get(path, params=params, headers=headers)


def _register(url: str) -> tuple[list[int], dict[str, str]]:
    upgrade(make_engine(url))
    with session_factory(make_engine(url))() as s, s.begin():
        seed_admin_units(s)
        wards = list(s.scalars(select(Ward.code).where(Ward.province_code == PROVINCE)
                               .order_by(Ward.code).limit(4)))
        orgs = [("farm-1", OrgType.FARM, wards[0]), ("farm-2", OrgType.FARM, wards[1]),
                ("coop-1", OrgType.COOPERATIVE, wards[1]), ("sme-1", OrgType.SME, wards[2]),
                ("home-1", OrgType.HOUSEHOLD_METER_POINT, wards[3]),
                ("home-2", OrgType.HOUSEHOLD_METER_POINT, wards[3])]
        for org_id, org_type, ward in orgs:
            s.add(Organisation(id=org_id, name=org_id, type=org_type, sector=Sector.AGRICULTURE))
            s.flush()
            place(s, SubjectKind.ORGANISATION, org_id, at=PLACED, ward_code=ward)
        s.add(Gateway(id="gw-dt-1", installed_on=PLACED.date()))
        s.flush()
        place(s, SubjectKind.GATEWAY, "gw-dt-1", at=PLACED, ward_code=wards[0])
        devices = [("soil-1", "soil_probe", Sector.AGRICULTURE, wards[0], "farm-1"),
                   ("soil-2", "soil_probe", Sector.AGRICULTURE, wards[1], "farm-2"),
                   ("aq-1", "air_quality", Sector.ENVIRONMENT, wards[2], None),
                   ("meter-1", "electricity_meter", Sector.ENERGY, wards[3], "home-1"),
                   ("meter-2", "electricity_meter", Sector.ENERGY, wards[3], "home-2")]
        for device_id, profile, sector, ward, org in devices:
            s.add(Device(id=device_id, profile=profile, sector=sector, expected_interval_s=600,
                         installed_on=PLACED.date()))
            s.flush()
            place(s, SubjectKind.DEVICE, device_id, at=PLACED, ward_code=ward, organisation_id=org,
                  gateway_id="gw-dt-1")
        tokens = {
            "ministry": create_token(s, "ministry", ApiRole.MINISTRY),
            "dong_thap": create_token(s, "dong-thap", ApiRole.PROVINCE, province=PROVINCE,
                                      organisation="coop-1"),
            "dong_nai": create_token(s, "dong-nai", ApiRole.PROVINCE, province=75),
            "operator": create_token(s, "operator", ApiRole.OPERATOR),
        }
    return wards, tokens


def _write_day(influx: InfluxClient, database: str) -> None:
    start = local_midnight_ms(DAY)
    times = [start + m * MIN for m in range(0, 24 * 60, 10)]
    fields = {"soil-1": lambda i: f"soil_moisture={30 + i % 5}.0",
              "aq-1": lambda i: f"pm2_5={10 + i % 7}.0",
              "meter-1": lambda i: f"active_energy={100 + i * 0.1:.1f}",
              "meter-2": lambda i: f"active_energy={500 + i * 0.2:.1f}"}  # soil-2 stays silent
    lines = [f'telemetry,device={d},gateway=gw-dt-1 {f(i)},quality="good" {ts}'
             for d, f in fields.items() if not d.startswith("meter") for i, ts in enumerate(times)]
    household = "telemetry,gateway=gw-dt-1,organisation_type=household_meter_point"
    influx.write_lines(personal_database(database), "\n".join(  # households' meters: personal data
        f'{household},device={d} {f(i)},quality="good" {ts}'
        for d, f in fields.items() if d.startswith("meter") for i, ts in enumerate(times)))
    lines += [f"touched_hours written_at={start + 25 * HOUR_MS}i {start + h * HOUR_MS}" for h in range(24)]
    lines.append(f"gateway_health,gateway=gw-dt-1 online=true,buffer_depth=0 {start + 23 * HOUR_MS}")
    lines.append(f"platform_use,organisation=coop-1,token=dong-thap requests=2i {start + HOUR_MS}")
    influx.write_lines(database, "\n".join(lines))


@pytest.fixture
def stack(influxd: Influxd, influx: InfluxClient, database: str, tmp_path: Path) -> Iterator[Stack]:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    wards, tokens = _register(url)
    create_storage(influx, database, raw_retention="INF")
    _write_day(influx, database)
    rollup = RollupService(RollupConfig(influx=InfluxConfig(url=influxd.url, database=database),
                                        registry=RegistryLink(url=url)))
    rollup.prepare()
    rollup.backfill(DAY, DAY)
    rollup.influx.close()
    cfg = ApiConfig(influx=InfluxConfig(url=influxd.url, database=database), registry=RegistryLink(url=url),
                    usage_flush_s=0.2)
    with TestClient(create_app(cfg)) as client:
        yield Stack(client, tokens, wards, influx, database, url, cfg)
