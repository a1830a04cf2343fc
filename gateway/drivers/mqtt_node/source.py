"""The MQTT-node driver: microcontroller nodes (``firmware_stubs/``) publish iotgw telemetry
v1 to the gateway's local broker under their own id; the agent takes their readings into
its buffer and forwards them upstream like its own.

Nothing is lost between the two brokers: the node's messages are taken with manual
acknowledgement on a persistent session, and acknowledged only after the agent has
committed their readings to its buffer (``committed``). A crash in between means the local
broker delivers them again, and a reading sent twice overwrites itself in InfluxDB.
Readings keep the node's own timestamps (the node stamps them at read time); a message
that is not valid v1, or carries another device's readings, is logged, counted and
acknowledged, so one bad message never stalls the node's stream.
"""

from __future__ import annotations

import logging
import queue
import threading

import paho.mqtt.client as mqtt
from iotgw.devices import Reading, TelemetryBatch, telemetry_topic
from iotgw.gateway.config import DeviceConfig
from iotgw.gateway.drivers.acked_session import AckedAfterCommit, session_never_expires
from iotgw.gateway.drivers.mqtt_node.options import Options
from iotgw.gateway.errors import GatewayError
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

log = logging.getLogger(__name__)


class MqttNodeSource(AckedAfterCommit):
    finished = False
    pushed = True  # the node stamps its readings and keeps them until they are committed

    def __init__(self, device: DeviceConfig) -> None:
        if not isinstance(device, Options):
            raise GatewayError(f"device {device.id!r} is not configured for the mqtt_node driver")
        link = device.mqtt_node
        self.device_id = device.id
        self.interval_s = device.interval_s
        self.rejected = 0
        self._arrived: queue.Queue[tuple[int, list[Reading]]] = queue.Queue()
        self._taken: list[int] = []  # message ids whose readings the agent has now
        self._topic = telemetry_topic(device.id)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{device.id}-collector",
                             protocol=mqtt.MQTTv5, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        self._client, self._link = client, link
        self._started = False
        self._lock = threading.Lock()

    def _start(self) -> None:
        """Connect at the first read, so that checking a configuration connects nothing."""
        self._client.connect_async(self._link.host, self._link.port, clean_start=False,
                                   properties=session_never_expires())
        self._client.loop_start()
        self._started = True

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(self._topic, qos=1)
        log.info("collecting node %s from %s:%s", self.device_id, self._link.host, self._link.port)

    def _on_message(self, client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            batch = TelemetryBatch.model_validate_json(message.payload)
            strangers = {r.device for r in batch.readings} - {self.device_id}
            if strangers:
                raise ValueError(f"readings of other devices {sorted(strangers)}")
        except (ValidationError, ValueError) as exc:
            self.rejected += 1
            log.warning("node %s: message refused and acknowledged: %s", self.device_id, exc)
            client.ack(message.mid, message.qos)
            return
        self._arrived.put((message.mid, list(batch.readings)))

    def read(self, now_ms: int) -> list[Reading]:
        """Whatever the node sent since the last turn (nothing while it sleeps)."""
        if not self._started:
            self._start()
        readings: list[Reading] = []
        while True:
            try:
                mid, batch = self._arrived.get_nowait()
            except queue.Empty:
                return readings
            with self._lock:
                self._taken.append(mid)
            readings.extend(batch)
