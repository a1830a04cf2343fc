"""A small MQTT client for tests that records what the real broker answered."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

DEADLINE_S = 10.0


@dataclass
class Probe:
    client: mqtt.Client
    connected: threading.Event = field(default_factory=threading.Event)
    connect_reason: str = ""
    publish_reasons: list[str] = field(default_factory=list)
    subscribe_reasons: list[str] = field(default_factory=list)
    messages: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes) -> str:
        """Publish QoS 1 and return the PUBACK's reason."""
        before = len(self.publish_reasons)
        self.client.publish(topic, payload, qos=1)
        self._wait(lambda: len(self.publish_reasons) > before, "PUBACK")
        return self.publish_reasons[before]

    def subscribe(self, topic: str) -> str:
        before = len(self.subscribe_reasons)
        self.client.subscribe(topic, qos=1)
        self._wait(lambda: len(self.subscribe_reasons) > before, "SUBACK")
        return self.subscribe_reasons[before]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @staticmethod
    def _wait(predicate, what: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {DEADLINE_S}s")
            time.sleep(0.01)


def connect(port: int, client_id: str, username: str | None = None,
            password: str | None = None) -> Probe:
    """Connect (MQTT 5) and wait for the broker's CONNACK, whatever it says."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    probe = Probe(client)
    if username is not None:
        client.username_pw_set(username, password)

    def on_connect(_c, _u, _f, reason, _p) -> None:
        probe.connect_reason = str(reason)
        probe.connected.set()

    client.on_connect = on_connect
    client.on_publish = lambda _c, _u, _mid, reason, _p: probe.publish_reasons.append(str(reason))
    client.on_subscribe = lambda _c, _u, _mid, reasons, _p: probe.subscribe_reasons.extend(
        str(r) for r in reasons)
    client.on_message = lambda _c, _u, msg: probe.messages.append((msg.topic, msg.payload))
    client.connect("127.0.0.1", port)
    client.loop_start()
    if not probe.connected.wait(DEADLINE_S):
        probe.close()
        raise AssertionError(f"no CONNACK within {DEADLINE_S}s")
    return probe
