"""The Grafana dashboards in deploy/grafana: valid against Grafana's own dashboard types
(@grafana/schema, type-checked by TypeScript), provisioned as compose mounts them, and
every panel's InfluxQL answering from a real influxd that holds a simulated fleet's data."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from iotgw.devices import QUANTITIES
from iotgw.devices.links import RegistryLink
from iotgw.devices.quantities import Kind
from iotgw.gateway.config import BrokerConfig
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.service import RollupService
from iotgw.simulators.runner import FleetRunner, live_samples, with_samples
from iotgw.simulators.scenario import Scenario, SiteKind, build_fleet, gateway_configs
from iotgw.tsdb.config import InfluxConfig

from iotgw.sim_cli import register
from tests.e2e.spine import Spine

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
SCHEMA_CHECK = Path(__file__).parent / "grafana_schema"
DATASOURCE_UID = "iotgw-influxdb"

# Our dashboards are Grafana dashboards whose queries are raw InfluxQL.
CHECK_HEADER = """import type { Dashboard, Panel, DataQuery } from '@grafana/schema';
type InfluxQLQuery = DataQuery & { query: string; rawQuery: true; resultFormat: 'time_series' | 'table' };
type IotgwDashboard = Omit<Dashboard, 'panels'> & { panels: Array<Panel & { targets: InfluxQLQuery[] }> };
"""


def typecheck(tmp_path: Path, dashboards: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """TypeScript's verdict on the dashboards as Grafana's types (excess keys are errors)."""
    (tmp_path / "node_modules").symlink_to(SCHEMA_CHECK / "node_modules")
    body = "".join(f"export const {name}: IotgwDashboard = {json.dumps(d)};\n"
                   for name, d in dashboards.items())
    (tmp_path / "check.ts").write_text(CHECK_HEADER + body)
    tsc = SCHEMA_CHECK / "node_modules" / ".bin" / "tsc"
    return subprocess.run([str(tsc), "--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext",
                           "--moduleResolution", "nodenext", "check.ts"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_dashboards_are_valid_grafana_dashboards(tmp_path: Path) -> None:
    assert [p.name for p in DASHBOARDS] == ["coverage.json", "device-readings.json", "gateway-health.json"]
    result = typecheck(tmp_path, {f"d{i}": load(p) for i, p in enumerate(DASHBOARDS)})
    assert result.returncode == 0, result.stdout


def test_the_schema_check_refuses_a_broken_dashboard(tmp_path: Path) -> None:
    broken = load(DASHBOARDS[0])
    broken["panels"][0]["gridPos"]["h"] = "nine"
    broken["panels"][1]["titel"] = "a typo"
    result = typecheck(tmp_path, {"broken": broken})
    assert result.returncode != 0
    assert "not assignable to type 'number'" in result.stdout and "titel" in result.stdout


def test_provisioning_points_at_the_dashboards_and_the_datasource() -> None:
    [source] = yaml.safe_load((GRAFANA / "provisioning/datasources/influxdb.yaml").read_text())["datasources"]
    assert source["uid"] == DATASOURCE_UID and source["jsonData"]["dbName"] == "iotgw"
    assert source["user"] == "$INFLUXDB_READ_USER"  # the read-only account, from the environment
    [provider] = yaml.safe_load((GRAFANA / "provisioning/dashboards/iotgw.yaml").read_text())["providers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = dict(v.split(":")[1::-1] for v in compose["services"]["grafana"]["volumes"])
    assert mounts[provider["options"]["path"]] == "./deploy/grafana/dashboards"
    for path in DASHBOARDS:
        dashboard = load(path)
        sources = [t["datasource"]["uid"] for p in dashboard["panels"] for t in p["targets"]]
        sources += [v["datasource"]["uid"] for v in dashboard["templating"]["list"]]
        assert set(sources) == {DATASOURCE_UID}, path.name


# -- the queries against data ---------------------------------------------------------------

SCENARIO = Scenario(
    name="grafana", province=82, id_prefix="gf", seed=5, interval_s=900, devices_per_gateway=4,
    sites=[SiteKind(kind="farm", name="Trang trại", org_type="farm", sector="agriculture", count=2,
                    devices=["soil_probe", "weather_station"], communes=["Xã Tháp Mười"]),
           SiteKind(kind="salinity", name="Trạm", sector="environment", count=1,
                    devices=["water_quality"], communes=["Xã Chợ Gạo"]),
           SiteKind(kind="home", name="Hộ", org_type="household_meter_point", sector="energy",
                    count=2, devices=["electricity_meter"], communes=["Xã Chợ Gạo"])],
)


def _values(spine: Spine, query: str) -> list[str]:
    series = spine.influx.query(spine.database, query)
    return sorted({str(row.get("value", row.get("fieldKey"))) for s in series for row in s.rows})


def _bind(spine: Spine, dashboard: dict[str, Any]) -> dict[str, str]:
    """Each template variable as Grafana would fill it: its own query, its regex, and for a
    multi-value variable every value (Grafana's "All", as a regex alternation)."""
    bound = {}
    for var in dashboard["templating"]["list"]:
        values = _values(spine, var["query"])
        if var["regex"]:
            values = [v for v in values if re.fullmatch(var["regex"].strip("/"), v)]
        if var["name"] == "quantity":  # a gauge: the hourly panel shows mean, min and max
            values = [v for v in values if v in QUANTITIES and QUANTITIES[v].kind is Kind.GAUGE]
        assert values, f"variable {var['name']} has no values"
        bound[var["name"]] = "(" + "|".join(map(re.escape, values)) + ")" if var["multi"] else values[0]
    return bound


def _interpolate(query: str, bound: dict[str, str]) -> str:
    query = query.replace("$timeFilter", "time > now() - 3d").replace("$__interval", "1h")
    for name, value in bound.items():
        query = query.replace("${" + name + "}", value).replace("$" + name, value)
    assert not re.search(r"\$[A-Za-z_{]", query), query
    return query


@pytest.mark.integration
def test_every_panel_query_answers_from_a_simulated_fleet(spine: Spine) -> None:
    url = f"sqlite:///{spine.workdir / 'registry.sqlite'}"
    fleet = build_fleet(SCENARIO)
    register(url, fleet, history_days=2)
    spine.start_ingest(registry_url=url)
    broker = BrokerConfig(port=spine.broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0)
    samples = live_samples(2, 0.5)
    configs = with_samples(gateway_configs(fleet, broker=broker, buffer_dir=spine.workdir, interval_s=0.5),
                           samples)
    runner = FleetRunner(fleet, configs)
    runner.backfill(days=1, now_ms=int(time.time() * 1000))
    report = runner.run(live_s=2, timeout_s=120)
    assert spine.wait_for_count(report.acked) == report.acked
    rollup = RollupService(RollupConfig(influx=InfluxConfig(url=spine.influxd.url, database=spine.database),
                                        registry=RegistryLink(url=url)))
    rollup.prepare()
    today = dt.datetime.now(dt.UTC).date()
    rollup.backfill(today - dt.timedelta(days=2), today + dt.timedelta(days=1))

    answered = 0
    for path in DASHBOARDS:
        dashboard = load(path)
        bound = _bind(spine, dashboard)
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                series = spine.influx.query(spine.database, _interpolate(target["query"], bound))
                values = [v for s in series for row in s.rows for k, v in row.items()
                          if k != "time" and v is not None]
                assert values, f"{path.name}: panel {panel['title']!r} shows nothing"
                answered += 1
    assert answered == 10
