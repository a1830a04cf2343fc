"""A gateway collects a node from its local broker and forwards it upstream; the node's
messages sent while the gateway is down wait in the local broker and arrive after."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from iotgw.gateway import GatewayConfig
from iotgw.gateway.config import BrokerConfig, BufferConfig, DeviceConfig, MqttNodeLink
from iotgw_node import readers
from iotgw_node.node import Node

from iotgw.processes import Mosquitto
from tests.e2e.spine import Spine
from tests.firmware_stubs.fakes import FakeHal

pytestmark = pytest.mark.integration


def test_node_readings_reach_influxdb_through_the_gateway_and_survive_its_restart(
        spine: Spine, tmp_path: Path) -> None:
    local = Mosquitto(tmp_path / "local-broker")  # the field gateway's own broker
    local.start()
    try:
        spine.start_ingest()
        node_id, gateway_id = f"{spine.name}-node", f"{spine.name}-gw"
        hal = FakeHal(tmp_path, 1_790_000_000_000, local.port)
        node = Node(hal, {"node_id": node_id, "broker": "127.0.0.1", "port": local.port},
                    lambda: readers.water_meter(100 + hal.clock_ms // 60_000 % 1000, 1.0))
        cfg = GatewayConfig(
            gateway_id=gateway_id, broker=BrokerConfig(port=spine.broker.port),
            buffer=BufferConfig(path=tmp_path / "gw.sqlite"),
            devices=[DeviceConfig(id=node_id, driver="mqtt_node", profile="water_meter",
                                  interval_s=0.2, mqtt_node=MqttNodeLink(port=local.port))])
        gateway = spine.start_gateway(cfg)
        spine.wait_until(lambda: "collecting node" in gateway.log_tail(), what="the collector")

        def cycle() -> None:
            hal.clock_ms += 60_000
            assert node.cycle() == 1
        cycle()
        cycle()
        assert spine.wait_for_count(2) == 2
        gateway.stop()  # the gateway restarts (an update, a power cut)
        cycle()
        cycle()
        time.sleep(0.5)
        gateway = spine.start_gateway(cfg)
        assert spine.wait_for_count(4) == 4
        rows = spine.stored()[node_id]
        assert [r["time"] for r in rows] == [1_790_000_000_000 + m * 60_000 for m in (1, 2, 3, 4)]
        assert {r["gateway"] for r in rows} == {gateway_id}  # forwarded, under the gateway
    finally:
        local.stop()
