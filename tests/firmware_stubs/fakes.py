"""The hardware layer replaced: a UART fed with real frame bytes, files in a directory, a
settable clock, and the ``umqtt.simple`` client API on a real (paho) MQTT connection."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class FakeUart:
    """Answers each ``write`` with the bytes ``answer(request)`` returns, or streams bytes."""

    def __init__(self, answer: Callable[[bytes], bytes] | None = None, stream: bytes = b"") -> None:
        self.answer, self.pending, self.written = answer, bytearray(stream), []

    def write(self, data: bytes) -> int:
        self.written.append(bytes(data))
        if self.answer:
            self.pending += self.answer(bytes(data))
        return len(data)

    def read(self, n: int) -> bytes | None:
        if not self.pending:
            return None
        out, self.pending = bytes(self.pending[:n]), self.pending[n:]
        return out


class UmqttClient:
    """``umqtt.simple.MQTTClient``'s API (QoS 1 publish returns after the PUBACK)."""

    def __init__(self, client_id: str, server: str, port: int = 1883, keepalive: int = 60) -> None:
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv311)
        self._server, self._port, self._keepalive = server, port, keepalive

    def set_last_will(self, topic: str, msg: str, retain: bool = False, qos: int = 0) -> None:
        self._client.will_set(topic, msg, qos=qos, retain=retain)

    def connect(self) -> None:
        try:
            self._client.connect(self._server, self._port, self._keepalive)
        except OSError:
            raise
        self._client.loop_start()

    def publish(self, topic: str, msg: str, retain: bool = False, qos: int = 0) -> None:
        info = self._client.publish(topic, msg, qos=qos, retain=retain)
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            raise OSError("no PUBACK")

    def disconnect(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class FakeHal:
    def __init__(self, directory: Path, now_ms: int, broker_port: int) -> None:
        self.dir, self.clock_ms, self.port = directory, now_ms, broker_port
        self.logs: list[str] = []
        self.slept = threading.Event()

    def now_ms(self) -> int:
        return self.clock_ms

    def log(self, message: str) -> None:
        self.logs.append(message)

    def read(self, path: str) -> str:
        return (self.dir / path).read_text()

    def write(self, path: str, text: str) -> None:
        (self.dir / path).write_text(text)

    def load_state(self, key: str, default: object) -> object:
        try:
            return json.loads(self.read("state.json")).get(key, default)
        except OSError:
            return default

    def save_state(self, key: str, value: object) -> None:
        try:
            state = json.loads(self.read("state.json"))
        except OSError:
            state = {}
        state[key] = value
        self.write("state.json", json.dumps(state))

    def mqtt(self, client_id: str, server: str, port: int) -> UmqttClient:
        return UmqttClient(client_id, server, port=port)
