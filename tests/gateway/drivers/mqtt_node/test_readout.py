"""A node's reading as ``iotgw gateway test`` takes it: through the real broker, waited for,
and not acknowledged, so the broker keeps it for the agent's session."""

from __future__ import annotations

import threading

import pytest
from iotgw.devices import Reading, TelemetryBatch, telemetry_topic
from iotgw.gateway.config import DeviceConfig, MqttNodeLink
from iotgw.gateway.readout import read_once

from iotgw.processes import Mosquitto
from tests.mqtt_probe import connect

pytestmark = pytest.mark.integration


def test_a_node_is_waited_for_and_a_silent_one_is_a_note_not_an_error(
        broker: Mosquitto, unique_name: str) -> None:
    node = DeviceConfig(id=f"{unique_name}-n", driver="mqtt_node", profile="soil_probe", interval_s=1,
                        mqtt_node=MqttNodeLink(host=broker.host, port=broker.port))
    [silent] = read_once([node], wait_s=0.3)  # also opens the node's persistent session
    assert (silent.ok, silent.readings, silent.note) == (True, [], "nothing arrived within 0.3 s")
    reading = Reading(device=node.id, ts=1_790_000_000_000, values={"soil_moisture": 31.5})
    payload = TelemetryBatch(gateway=node.id, seq=1, readings=[reading]).model_dump_json().encode()
    sender = connect(broker.port, f"{unique_name}-sender")
    sent = threading.Timer(0.3, sender.publish, (telemetry_topic(node.id), payload))
    sent.start()
    try:
        [heard] = read_once([node], wait_s=10)
    finally:
        sent.join()
        sender.close()
    assert heard.ok and heard.readings == [reading]
    [again] = read_once([node], wait_s=10)  # not acknowledged: the session holds it still
    assert again.readings == [reading]
