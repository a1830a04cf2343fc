"""Grafana's account must not read a household's readings. As deployed: influxd with auth,
`iotgw provision influx` run with the admin's credentials, ingest writing with its own
account (which may write and not read). A household meter's reading then lands in the
personal database, where Grafana's account, asking InfluxDB's HTTP API as Grafana does, is
refused; the farm's reading beside it stays readable to Grafana."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.simulators import write_config
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig
from iotgw.tsdb.schema import RAW_RP, TELEMETRY, personal_database

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
