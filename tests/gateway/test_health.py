"""The heartbeat names the agent's version and, per device, its failed reads: bounded in
devices and in message length, and carried by the retained status through the real broker."""

from __future__ import annotations

import threading
import time
from importlib import metadata
from pathlib import Path

import pytest
from iotgw.devices import GatewayStatus, status_topic
from iotgw.devices.telemetry import MAX_ERROR_CHARS
from iotgw.gateway import Agent, build_sources
from iotgw.gateway.config import BrokerConfig, BufferConfig, DeviceConfig, GatewayConfig, PublishConfig
from iotgw.gateway.drivers.modbus.options import ModbusLink
from iotgw.gateway.health import ReadErrors

from iotgw.processes import Mosquitto, free_port
from tests.mqtt_probe import DEADLINE_S, connect


def test_read_errors_count_per_device_keep_the_last_and_stay_bounded() -> None:
    errors = ReadErrors(limit=2)
    errors.record("a", "timeout", 1)
    errors.record("b", "refused", 2)
    errors.record("a", "x" * 1_000, 3)
    assert errors.snapshot()["a"].count == 2 and errors.snapshot()["a"].last_ts == 3
    assert len(errors.snapshot()["a"].last) == MAX_ERROR_CHARS and errors.snapshot()["a"].last.endswith("...")
    errors.record("c", "refused", None)  # the clock not trusted: no time
    assert sorted(errors.snapshot()) == ["a", "c"]  # b failed longest ago: forgotten
    assert errors.snapshot()["c"].last_ts is None


@pytest.mark.integration
def test_the_status_carries_the_version_and_the_dead_devices_errors(
        broker: Mosquitto, tmp_path: Path, unique_name: str) -> None:
    dead = free_port()
    config = GatewayConfig(
        gateway_id=f"{unique_name}-gw", broker=BrokerConfig(host=broker.host, port=broker.port),
        buffer=BufferConfig(path=tmp_path / "b.sqlite"), publish=PublishConfig(heartbeat_s=0.2),
        devices=[DeviceConfig(id="alive", driver="simulated", profile="soil_probe", interval_s=0.1),
                 DeviceConfig(id="dead", driver="modbus", profile="electricity_meter", interval_s=0.1,
                              modbus=ModbusLink(host="127.0.0.1", port=dead, timeout_s=0.2,
                                                model="eastron_sdm630m"))])
    probe = connect(broker.port, f"{unique_name}-probe")
    probe.subscribe(status_topic(config.gateway_id))
    stop = threading.Event()

    def run() -> None:  # the agent's SQLite connections belong to the thread that runs it
        Agent(config, build_sources(config.devices)).run(stop)

    runner = threading.Thread(target=run)
    runner.start()
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            statuses = [GatewayStatus.model_validate_json(payload) for _, payload in probe.messages]
            failing = [s for s in statuses if s.read_errors.get("dead") and s.read_errors["dead"].count >= 2]
            if failing:
                break
            assert time.monotonic() < deadline, f"no status with the dead device's errors: {statuses}"
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(DEADLINE_S)
        probe.close()
    status = failing[-1]
    assert status.version == metadata.version("iotgw")
    assert set(status.read_errors) == {"dead"}  # the simulated device reads fine
    assert f"cannot connect to 127.0.0.1:{dead}" in status.read_errors["dead"].last
    assert status.health["read_errors"] >= status.read_errors["dead"].count
