"""The broker's packet size limit (deploy/mosquitto/mosquitto.conf): a client sending a
packet over 16 MiB is disconnected and its message goes nowhere; others are unaffected."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.spine import Spine
from tests.faults import ledger
from tests.mqtt_probe import connect

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def test_an_oversized_packet_is_refused_and_others_go_on(spine: Spine) -> None:
    listener = connect(spine.broker.port, f"{spine.name}-listener")
    listener.subscribe("iot/v1/+/telemetry")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{spine.name}-big", protocol=mqtt.MQTTv5)
    dropped = threading.Event()
    client.on_disconnect = lambda *_: dropped.set()
    client.connect("127.0.0.1", spine.broker.port)
    client.loop_start()
    try:
        client.publish("iot/v1/big-gw/telemetry", b"x" * (17 * 1024 * 1024), qos=1)
        disconnected = dropped.wait(20)
    finally:
        client.loop_stop()
    assert listener.publish("iot/v1/small-gw/telemetry", b"y" * 1_000_000) == "Success"  # under it
    listener._wait(lambda: listener.messages, "the 1 MB message")
    topics = [topic for topic, _ in listener.messages]
    listener.close()
    ledger.refused("MQTT packet over 16 MiB", ok=disconnected and topics == ["iot/v1/small-gw/telemetry"],
                   verdict="client disconnected, nothing delivered, others unaffected")
