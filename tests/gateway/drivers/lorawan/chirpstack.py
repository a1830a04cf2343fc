"""ChirpStack v4's side of the LoRaWAN tests: its uplink events (the JSON files of
``uplinks/``, in the format its MQTT integration publishes) sent to a real broker on the
topic it uses, as ChirpStack would."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

UPLINKS = Path(__file__).with_name("uplinks")
DEV_EUI = "a84041000181c3e5"
APPLICATION_ID = "17c82e96-be03-4f38-aef3-f83d48582d97"
# The mapping of the soil probe's codec output, as a device's lorawan.fields are written.
FIELDS = {"soil.moisture": {"quantity": "soil_moisture", "scale": 0.1},
          "soil.temperature": {"quantity": "soil_temperature"},
          "soil.conductivity": {"quantity": "soil_ec"}}


def uplink(name: str, **changes: Any) -> dict[str, Any]:
    """The event of ``uplinks/<name>.json``, with top-level keys changed (None removes one)."""
    event = copy.deepcopy(json.loads((UPLINKS / f"{name}.json").read_text()))
    for key, value in changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def topic(dev_eui: str = DEV_EUI) -> str:
    return f"application/{APPLICATION_ID}/device/{dev_eui}/event/up"


def publish(port: int, events: list[dict[str, Any] | bytes], dev_eui: str = DEV_EUI) -> None:
    """Publish each event (QoS 1, each acknowledged by the broker) on the device's topic."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for event in events:
            payload = event if isinstance(event, bytes) else json.dumps(event).encode()
            client.publish(topic(dev_eui), payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def retire(port: int, device_id: str) -> None:
    """End the LoRaWAN source's persistent session of ``device_id`` (a clean start), so
    that the session-wide broker keeps nothing for it after the test."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{device_id}-lorawan",
                         protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port, clean_start=True)
    client.disconnect()
