"""The whole path over IPv6 alone (seed 003 L47, L193: the province's systems IPv6-only by
2030): gateway -> broker -> ingest -> InfluxDB -> API, every process listening on ``::1``
only, so that any IPv4 connection would fail, and the configuration files naming the
addresses as IPv6 literals in brackets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from iotgw.api import ApiConfig
from iotgw.api.auth import create_token
from iotgw.devices.links import RegistryLink
from iotgw.gateway.config import BrokerConfig
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.registry import ApiRole, make_engine, session_factory
from iotgw.simulators import write_config
from iotgw.simulators.runner import FleetRunner, live_samples, with_samples
from iotgw.simulators.scenario import Scenario, SiteKind, build_fleet, gateway_configs
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig

from iotgw.processes import Influxd, IotgwProcess, Mosquitto, free_port
from iotgw.sim_cli import register
from tests.e2e.spine import Spine

pytestmark = pytest.mark.integration

SCENARIO = Scenario(
    name="ipv6", province=82, id_prefix="six", seed=7, interval_s=900, devices_per_gateway=3,
    sites=[SiteKind(kind="farm", name="Trang trại", org_type="farm", sector="agriculture", count=2,
                    devices=["soil_probe"], communes=["Xã Tháp Mười"])],
)


def test_gateway_to_api_over_ipv6_alone(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "mosquitto", host="::1")
    influxd = Influxd(tmp_path / "influxd", host="::1")
    broker.start()
    influxd.start()
    spine = Spine(broker, influxd, InfluxClient(influxd.url), "ipv6", "ipv6", tmp_path)
    try:
        url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
        fleet = build_fleet(SCENARIO)
        register(url, fleet, history_days=1)
        with session_factory(make_engine(url))() as s, s.begin():
            token = create_token(s, "ministry", ApiRole.MINISTRY)
        # Written as an operator would: literals in brackets, as in a URL.
        metrics_port = free_port()
        (tmp_path / "ingest.toml").write_text(
            f'[mqtt]\nhost = "[::1]"\nport = {broker.port}\nclient_id = "v6-ingest"\n'
            f'[influx]\nurl = "{influxd.url}"\ndatabase = "ipv6"\n[registry]\nurl = "{url}"\n'
            f'[metrics]\nhost = "[::1]"\nport = {metrics_port}\n')
        ingest = IotgwProcess(tmp_path, "ingest", ["ingest", "run", "--config",
                                                   str(tmp_path / "ingest.toml")], ready_line=SUBSCRIBED)
        ingest.start()
        spine.processes.append(ingest)

        broker_cfg = BrokerConfig(host="[::1]", port=broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0)
        samples = live_samples(2, 0.5)
        configs = with_samples(gateway_configs(fleet, broker=broker_cfg, buffer_dir=tmp_path, interval_s=0.5),
                               samples)
        report = FleetRunner(fleet, configs).run(live_s=2, timeout_s=60)
        assert report.acked == samples * fleet.devices
        assert spine.wait_for_count(report.acked) == report.acked

        port = free_port()
        api_cfg = write_config(ApiConfig(host="::1", port=port, registry=RegistryLink(url=url),
                                         influx=InfluxConfig(url=influxd.url, database="ipv6")),
                               tmp_path / "api.toml")
        api = IotgwProcess(tmp_path, "api", ["api", "run", "--config", str(api_cfg)],
                           ready_url=f"http://[::1]:{port}/healthz")
        api.start()
        spine.processes.append(api)
        now = dt.datetime.now(dt.UTC)
        device = configs[0].devices[0].id
        answer = httpx.get(f"http://[::1]:{port}/v1/devices/{device}/readings",
                           params={"from": (now - dt.timedelta(hours=1)).isoformat(),
                                   "to": (now + dt.timedelta(minutes=1)).isoformat(), "resolution": "raw"},
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["readings"]) == samples
        metrics = httpx.get(f"http://[::1]:{metrics_port}/metrics", timeout=10)
        assert "iotgw_ingest" in metrics.text
        # Nothing listens on IPv4: the path above could only have used IPv6.
        for port_v4 in (broker.port, influxd.port, port, metrics_port):
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port_v4}/", timeout=2)
    finally:
        spine.close()
        spine.influx.close()
        broker.stop()
        influxd.stop()
