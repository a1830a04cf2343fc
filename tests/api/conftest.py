"""A province with data, rolled up, behind the API: real influxd, a SQLite registry.

Đồng Tháp (82): two farms and a cooperative (one farm with an active soil probe, the
cooperative an API user), an air station, an SME, and two households with smart meters
(fewer than the suppression threshold of 5). Readings for one day, written as ingest
writes them, then rolled up by the real rollup service.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from iotgw.api import ApiConfig, create_app
from iotgw.devices.links import RegistryLink
from iotgw.registry import OrgType, Sector, make_engine, session_factory
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.periods import local_midnight_ms
from iotgw.rollup.service import RollupService
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig
from iotgw.tsdb.schema import HOUR_MS, create_storage, personal_database
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from iotgw.processes import Influxd, free_port
from tests import registry_setup as reg

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


def register_province(path: Path) -> tuple[str, list[int], dict[str, str]]:
    """The registry of the province above, in a new SQLite file at ``path``: its URL, the
    four wards used, and the tokens by role."""
    url = reg.seeded_registry(path)
    with session_factory(make_engine(url))() as s, s.begin():
        wards = reg.wards_of(s, PROVINCE, 4)
        orgs = [("farm-1", OrgType.FARM, wards[0]), ("farm-2", OrgType.FARM, wards[1]),
                ("coop-1", OrgType.COOPERATIVE, wards[1]), ("sme-1", OrgType.SME, wards[2]),
                ("home-1", OrgType.HOUSEHOLD_METER_POINT, wards[3]),
                ("home-2", OrgType.HOUSEHOLD_METER_POINT, wards[3])]
        for org_id, org_type, ward in orgs:
            reg.add_organisation(s, org_id, org_type, Sector.AGRICULTURE, ward=ward, at=PLACED)
        reg.add_gateway(s, "gw-dt-1", ward=wards[0], at=PLACED)
        devices = [("soil-1", "soil_probe", Sector.AGRICULTURE, wards[0], "farm-1"),
                   ("soil-2", "soil_probe", Sector.AGRICULTURE, wards[1], "farm-2"),
                   ("aq-1", "air_quality", Sector.ENVIRONMENT, wards[2], None),
                   ("meter-1", "electricity_meter", Sector.ENERGY, wards[3], "home-1"),
                   ("meter-2", "electricity_meter", Sector.ENERGY, wards[3], "home-2")]
        for device_id, profile, sector, ward, org in devices:
            reg.add_device(s, device_id, profile, sector, ward=ward, at=PLACED, organisation=org,
                           gateway="gw-dt-1")
        tokens = reg.role_tokens(s, PROVINCE, organisation="coop-1")
    return url, wards, tokens


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


def roll_up_again(stack: Stack, first: dt.date = DAY, last: dt.date = DAY) -> None:
    """The real rollup over [first, last], as ``iotgw rollup backfill`` runs it."""
    influx = InfluxConfig(url=stack.cfg.influx.url, database=stack.database)
    rollup = RollupService(RollupConfig(influx=influx, registry=RegistryLink(url=stack.registry_url)))
    try:
        rollup.backfill(first, last)
    finally:
        rollup.influx.close()


def report_late(stack: Stack, series: str, field: str) -> None:
    """The device of ``series`` (its tags) sends ``field`` every 10 minutes of ``DAY``, written
    the day after as ingest writes it; rolled up again."""
    start = local_midnight_ms(DAY)
    lines = [f'telemetry,{series} {field},quality="good" {start + m * MIN}' for m in range(0, 24 * 60, 10)]
    lines += [f"touched_hours written_at={start + 26 * HOUR_MS}i {start + h * HOUR_MS}" for h in range(24)]
    stack.influx.write_lines(stack.database, "\n".join(lines))
    roll_up_again(stack)


@contextmanager
def serve(influxd: Influxd, influx: InfluxClient, database: str, url: str, tokens: dict[str, str],
          wards: list[int], write_day: Callable[[InfluxClient, str], None],
          **options: Any) -> Iterator[Stack]:
    """The registry at ``url`` and ``write_day``'s readings, rolled up by the real rollup service,
    behind the real API (``options`` are more of its ``ApiConfig``)."""
    create_storage(influx, database, raw_retention="INF")
    write_day(influx, database)
    rollup = RollupService(RollupConfig(influx=InfluxConfig(url=influxd.url, database=database),
                                        registry=RegistryLink(url=url)))
    rollup.prepare()
    rollup.backfill(DAY, DAY)
    rollup.influx.close()
    cfg = ApiConfig(influx=InfluxConfig(url=influxd.url, database=database), registry=RegistryLink(url=url),
                    usage_flush_s=0.2, **options)
    with TestClient(create_app(cfg)) as client:
        yield Stack(client, tokens, wards, influx, database, url, cfg)


@pytest.fixture
def stack(influxd: Influxd, influx: InfluxClient, database: str, tmp_path: Path) -> Iterator[Stack]:
    url, wards, tokens = register_province(tmp_path / "registry.sqlite")
    with serve(influxd, influx, database, url, tokens, wards, _write_day) as built:
        yield built


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def served(stack: Stack) -> Iterator[str]:
    """The API of ``stack`` over real HTTP (uvicorn in a thread), for the dashboard's browser
    tests: its address. Function-scoped like ``stack``, whose data the tests change."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(stack.cfg), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not _healthy(url):
        if time.monotonic() > deadline:
            pytest.fail(f"the API at {url} did not answer /healthz within 20 s")
        time.sleep(0.1)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """Debian's headless Chromium under chromedriver, its console logged (CSP refusals are
    logged there). A new one per test: the tests read its log and set its window and
    downloads, which must not carry over."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
