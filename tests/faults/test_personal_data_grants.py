"""Grafana's account must not read a household's readings. As deployed: influxd with auth,
`iotgw provision influx` run with the admin's credentials, ingest writing with its own
account (which may write and not read). A household meter's reading then lands in the
personal database, where Grafana's account, asking InfluxDB's HTTP API as Grafana does, is
refused; the farm's reading beside it stays readable to Grafana. So are the household
meter's own indicator values (its availability and completeness per day, and its gateway's),
which the rollup, with its own account, puts in the personal database too; the province's
operator still reads them through the API, with the API's account."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from iotgw.api import ApiConfig, create_app
from iotgw.devices.links import RegistryLink
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.periods import local_midnight_ms
from iotgw.rollup.service import RollupService
from iotgw.simulators import write_config
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig
from iotgw.tsdb.schema import HOUR_MS, INDICATORS, RAW_RP, ROLLUP_RP, TELEMETRY, personal_database

from iotgw.processes import Influxd, IotgwProcess, Mosquitto
from tests.e2e.spine import Spine
from tests.e2e.test_personal_data import register_household_and_farm
from tests.faults import ledger
from tests.influx_accounts import ACCOUNTS, DB, create_admin, credentials, provision

pytestmark = [pytest.mark.integration, pytest.mark.faults]

@pytest.fixture
def deployed(broker: Mosquitto, unique_name: str, tmp_path: Path) -> Iterator[Spine]:
    """The spine against influxd with auth, its accounts and grants made by the command."""
    influxd = Influxd(tmp_path / "influxd", auth=True)
    influxd.start()
    admin = InfluxClient(influxd.url, auth=credentials("admin"))
    spine = Spine(broker, influxd, admin, DB, unique_name, tmp_path)
    try:
        create_admin(influxd)
        result = provision(influxd, ACCOUNTS)
        assert result.returncode == 0, result.stderr
        yield spine
    finally:
        spine.close()
        admin.close()
        influxd.stop()


def _grafana_query(influxd: Influxd, database: str, statement: str) -> httpx.Response:
    """As Grafana's InfluxQL data source asks: POST /query with its account (basic auth)."""
    return httpx.post(f"{influxd.url}/query", data={"db": database, "q": statement, "epoch": "ms"},
                      auth=credentials("grafana"), timeout=10)


def test_grafanas_account_cannot_read_a_household_reading(deployed: Spine) -> None:
    spine = deployed
    url = f"sqlite:///{spine.workdir / 'registry.sqlite'}"
    gateway = f"{spine.name}-gw"
    register_household_and_farm(url, gateway)
    cfg = spine.ingest_config(registry_url=url)
    ingest_user, ingest_password = credentials("ingest")
    cfg = cfg.model_copy(update={"influx": InfluxConfig(
        url=spine.influxd.url, database=DB, username=ingest_user, password=ingest_password)})
    ingest = IotgwProcess(spine.workdir, "ingest", ["ingest", "run", "--config",
                                                    str(write_config(cfg, spine.workdir / "ingest.toml"))],
                          ready_line=SUBSCRIBED)
    ingest.start()
    spine.processes.append(ingest)
    now_ms = int(time.time() * 1000)
    spine.publish_raw(gateway, [json.dumps({"v": 1, "gateway": gateway, "seq": 1, "readings": [
        {"device": "meter-1", "ts": now_ms, "values": {"active_energy": 42.0}},
        {"device": "soil-1", "ts": now_ms, "values": {"soil_moisture": 30.0}}]}).encode()])
    personal = personal_database(DB)
    select = f'SELECT * FROM "{RAW_RP}"."{TELEMETRY}"'

    def devices(database: str) -> list[str]:
        return [row["device"] for s in spine.influx.query(database, select) for row in s.rows]

    spine.wait_until(lambda: devices(personal) == ["meter-1"] and devices(DB) == ["soil-1"],
                     what="the household's reading in the personal database, the farm's in the main")
    refused = _grafana_query(spine.influxd, personal, select)
    main = _grafana_query(spine.influxd, DB, select)
    seen = [row[main.json()["results"][0]["series"][0]["columns"].index("device")]
            for row in main.json()["results"][0]["series"][0]["values"]] if main.status_code == 200 else []
    ok = refused.status_code == 403 and "not authorized" in refused.text and seen == ["soil-1"]
    ledger.refused("Grafana's account reads a household reading", ok=ok,
                   verdict=f"personal database: HTTP {refused.status_code}; main database: HTTP"
                           f" {main.status_code}, devices {seen}; ingest wrote with its own account")


def _account(influxd: Influxd, service: str) -> InfluxConfig:
    user, password = credentials(service)
    return InfluxConfig(url=influxd.url, database=DB, username=user, password=password)


def _units(response: httpx.Response) -> list[str]:
    """The ``unit`` tags of a /query answer grouped by unit (none: an empty answer)."""
    return sorted(s["tags"]["unit"] for s in response.json()["results"][0].get("series", []))


def test_grafanas_account_cannot_read_a_household_meters_indicator_values(deployed: Spine) -> None:
    spine = deployed
    url = f"sqlite:///{spine.workdir / 'registry.sqlite'}"
    gateway = f"{spine.name}-gw"
    token = register_household_and_farm(url, gateway)
    day = dt.date(2026, 3, 10)
    times = [local_midnight_ms(day) + 9 * HOUR_MS + n * 60_000 for n in range(30)]
    with _account(spine.influxd, "ingest").client() as ingest:  # as ingest writes them
        ingest.write_lines(personal_database(DB), "\n".join(
            f'telemetry,device=meter-1,gateway={gateway} active_energy={n}.0,quality="good" {ts}'
            for n, ts in enumerate(times)))
        ingest.write_lines(DB, "\n".join(
            f'telemetry,device=soil-1,gateway={gateway} soil_moisture=30.0,quality="good" {ts}'
            for ts in times))
    rollup = RollupService(RollupConfig(influx=_account(spine.influxd, "rollup"),
                                        registry=RegistryLink(url=url)))
    try:
        rollup.backfill(day, day)
    finally:
        rollup.influx.close()

    def grafana(level: str) -> httpx.Response:
        return _grafana_query(spine.influxd, DB, (
            f'SELECT last("value") FROM "{ROLLUP_RP}"."{INDICATORS}" WHERE "level" = \'{level}\''
            f' AND "indicator" = \'reporting_availability\' GROUP BY "unit"'))
    devices, gateways = grafana("device"), grafana("gateway")
    refused = _grafana_query(spine.influxd, personal_database(DB),
                             f'SELECT * FROM "{ROLLUP_RP}"."{INDICATORS}"')
    api = ApiConfig(influx=_account(spine.influxd, "api"), registry=RegistryLink(url=url))
    with TestClient(create_app(api)) as client:
        seen = {level: client.get("/v1/indicators/reporting_availability/values", params={
            "province": 82, "period": "day", "level": level, "from": day.isoformat(),
            "to": day.isoformat()}, headers={"Authorization": f"Bearer {token}"})
            for level in ("device", "gateway")}
    assert all(r.status_code == 200 for r in seen.values()), {k: r.text for k, r in seen.items()}
    operator = {level: sorted(v["unit"] for v in r.json()["values"] if v["value"] is not None)
                for level, r in seen.items()}
    ok = (devices.status_code == gateways.status_code == 200 and _units(devices) == ["soil-1"]
          and _units(gateways) == [] and refused.status_code == 403
          and operator == {"device": ["meter-1", "soil-1"], "gateway": [gateway]})
    ledger.refused("Grafana's account reads a household meter's indicator values", ok=ok,
                   verdict=f"main database, level device: {_units(devices)}, level gateway:"
                           f" {_units(gateways) or 'none'}; personal database: HTTP {refused.status_code};"
                           f" the province's token through the API: devices {operator['device']},"
                           f" gateways {len(operator['gateway'])}")
