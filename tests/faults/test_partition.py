"""A network partition between a gateway and the broker, made with a network namespace
and a veth pair (as root; CI runs as root): the gateway runs in the namespace, the broker
listens on the host side of the link, and the link is cut while the gateway publishes.
Everything the gateway read arrives once the link is back."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from iotgw.gateway.config import BrokerConfig, PublishConfig
from iotgw.ingest import IngestConfig
from iotgw.ingest.config import BatchConfig, InfluxConfig, MqttConfig
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.simulators import simulated_fleet, write_config
from iotgw.tsdb import InfluxClient

from iotgw.processes import Influxd, IotgwProcess, Mosquitto
from tests.e2e.spine import Spine, tally
from tests.faults import ledger
from tests.faults.ledger import seconds

pytestmark = [pytest.mark.integration, pytest.mark.faults]

_nets = itertools.count(os.getpid() % 200)


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, f"ip {' '.join(args)}: {result.stderr} (needs root; CI runs as root)"


class _NamespacedProcess(IotgwProcess):
    def __init__(self, netns: str, *args, **kwargs) -> None:
        self.netns = netns
        super().__init__(*args, **kwargs)

    def command(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *super().command()]


@pytest.fixture
def link() -> Iterator[tuple[str, str, str]]:
    """(namespace, host-side interface, host-side address) of a fresh veth link."""
    n = next(_nets)
    netns, host_if, ns_if = f"iotgw-part-{n}", f"vp{n}h", f"vp{n}n"
    host_ip, ns_ip = f"10.231.{n}.1", f"10.231.{n}.2"
    _ip("netns", "add", netns)
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _ip("link", "set", ns_if, "netns", netns)
        _ip("addr", "add", f"{host_ip}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("-n", netns, "addr", "add", f"{ns_ip}/30", "dev", ns_if)
        _ip("-n", netns, "link", "set", ns_if, "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        yield netns, host_if, host_ip
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True, timeout=10)


def test_a_partition_between_gateway_and_broker_loses_nothing(
    link: tuple[str, str, str], tmp_path: Path, influxd: Influxd, influx: InfluxClient, database: str,
) -> None:
    netns, host_if, host_ip = link
    broker = Mosquitto(tmp_path / "mosquitto", host=host_ip)
    broker.start()
    processes: list[IotgwProcess] = []
    try:
        ingest_cfg = IngestConfig(
            mqtt=MqttConfig(host=host_ip, port=broker.port, client_id="part-ingest"),
            influx=InfluxConfig(url=influxd.url, database=database), batch=BatchConfig(max_wait_s=0.3),
            dead_letter_path=tmp_path / "dead.sqlite")
        processes.append(IotgwProcess(tmp_path, "ingest", [
            "ingest", "run", "--config", str(write_config(ingest_cfg, tmp_path / "ingest.toml"))],
            ready_line=SUBSCRIBED))
        [cfg] = simulated_fleet(1, 10, samples=100, broker=BrokerConfig(
            host=host_ip, port=broker.port, keepalive_s=5, reconnect_min_s=0.2, reconnect_max_s=2.0),
            buffer_dir=tmp_path, interval_s=0.1, prefix="part")
        cfg = cfg.model_copy(update={"publish": PublishConfig(max_readings_per_batch=50, heartbeat_s=1)})
        config_path = write_config(cfg, tmp_path / "gw.toml")
        gateway = _NamespacedProcess(netns, tmp_path, cfg.gateway_id, [
            "gateway", "run", "--exit-when-drained", "--config", str(config_path)])
        processes.append(gateway)
        for proc in processes:
            proc.start()
        spine = Spine(broker, influxd, influx, database, "part", tmp_path)
        spine.wait_until(lambda: spine.count() > 50, timeout_s=30, what="first readings")
        _ip("link", "set", host_if, "down")  # the 4G link drops
        time.sleep(1.0)  # what was on its way is written
        during = spine.count()
        time.sleep(seconds(3, 60) - 1.0)
        assert spine.count() == during, "readings arrived through a cut link"
        assert gateway.running, "the gateway keeps reading through the partition"
        _ip("link", "set", host_if, "up")
        assert gateway.wait(120 + seconds(0, 60)) == 0, gateway.log_tail()
        ledger.none_lost(f"network partition gateway | broker ({seconds(3, 60):g} s, netns + veth)",
                         tally(spine, [cfg]))
    finally:
        for proc in processes:
            proc.kill()
        broker.stop()
