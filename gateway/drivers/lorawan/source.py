"""The LoRaWAN source: one device's uplinks, taken from a ChirpStack v4 MQTT integration.

Each configured device has its own MQTT session on ChirpStack's broker (client id
``{device_id}-lorawan``, persistent, QoS 1, manual acknowledgement), subscribed to that
device's uplink topic only. An uplink is acknowledged once its reading is committed to the
gateway's buffer (``committed``), so a gateway that dies in between gets it again from its
session; an uplink published while the gateway is down waits in that session.

An uplink that gives no reading is logged, acknowledged at once and reported to the agent
as a read error of this device at its turn; a repeat of a frame already taken (same
``devAddr`` and ``fCnt``: a retransmission, a replay) is dropped, and acknowledged with
the frame it repeats.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from iotgw.devices import Reading
from iotgw.devices.links import BrokerLink
from iotgw.gateway.drivers.acked_session import AckedAfterCommit, session_never_expires
from iotgw.gateway.drivers.lorawan.uplink import FieldMap, Unmappable, Uplink, parse
from iotgw.gateway.errors import DeviceReadError
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)

# Frames remembered per device to recognise a repeat: a retransmission comes within seconds,
# so a few dozen frames is plenty. Memory only: after a restart a repeat of a frame taken
# before it is taken again, and lands on the same point (same uplink time) in InfluxDB.
REPEAT_WINDOW = 64


@dataclass(frozen=True, slots=True)
class Refused:
    """An uplink that gave no reading, in its place in the stream."""

    reason: str


class LorawanSource(AckedAfterCommit):
    finished = False
    pushed = True  # ChirpStack stamps the uplinks and keeps them until they are committed

    def __init__(self, device_id: str, interval_s: float, *, link: BrokerLink, dev_eui: str,
                 application_id: str, fields: list[FieldMap]) -> None:
        self.device_id = device_id
        self.interval_s = interval_s
        self.refused = 0  # uplinks that gave no reading
        self.repeats = 0  # uplinks dropped as repeats of a frame already taken
        self.subscribed = threading.Event()  # set once the broker granted the subscription
        self._dev_eui = dev_eui
        self._fields = fields
        self._topic = f"application/{application_id}/device/{dev_eui}/event/up"
        # Message id and what it gave, in arrival order (None: a repeat, dropped).
        self._arrived: deque[tuple[int, Uplink | Refused | None]] = deque()
        self._taken: list[int] = []  # message ids whose readings the agent has now
        self._lock = threading.Lock()
        self._recent: deque[tuple[str, int]] = deque(maxlen=REPEAT_WINDOW)  # frames taken
        self._queued: set[tuple[str, int]] = set()  # frames arrived, not taken yet
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{device_id}-lorawan",
                             protocol=mqtt.MQTTv5, manual_ack=True)
        if link.username is not None:
            client.username_pw_set(link.username, link.password)
        if link.tls is not None:
            tls = link.tls
            client.tls_set(ca_certs=str(tls.ca_file),
                           certfile=str(tls.cert_file) if tls.cert_file else None,
                           keyfile=str(tls.key_file) if tls.key_file else None)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._client, self._link = client, link
        self._started = False

    def _start(self) -> None:
        """Connect at the first read, so that checking a configuration connects nothing."""
        self._client.connect_async(self._link.host, self._link.port, keepalive=self._link.keepalive_s,
                                   clean_start=False, properties=session_never_expires())
        self._client.loop_start()
        self._started = True

    def _on_connect(self, client: mqtt.Client, _userdata: object, _flags: object,
                    reason: object, _props: object = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("lorawan %s: %s:%s refused the connection: %s", self.device_id,
                        self._link.host, self._link.port, reason)
            return
        client.subscribe(self._topic, qos=1)

    def _on_subscribe(self, _client: mqtt.Client, _userdata: object, _mid: int,
                      reasons: list, _props: object = None) -> None:
        if any(getattr(r, "is_failure", False) for r in reasons):  # an ACL that denies it
            log.error("lorawan %s: %s:%s refused the subscription to %s: %s", self.device_id,
                      self._link.host, self._link.port, self._topic, reasons)
            return
        log.info("lorawan %s: subscribed to %s on %s:%s", self.device_id, self._topic,
                 self._link.host, self._link.port)
        self.subscribed.set()

    def _on_message(self, client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        received_ms = int(time.time() * 1000)
        try:
            uplink = parse(message.payload, dev_eui=self._dev_eui, device_id=self.device_id,
                           fields=self._fields, received_ms=received_ms)
        except Exception as exc:  # paho's thread: raising here would end it, stalling the device
            self.refused += 1
            if isinstance(exc, Unmappable):
                log.warning("lorawan %s: uplink on %s refused and acknowledged: %s",
                            self.device_id, message.topic, exc)
            else:  # a bug of parse: said loudly, and the stream goes on
                log.exception("lorawan %s: uplink on %s broke the parser; refused and acknowledged",
                              self.device_id, message.topic)
                exc = Unmappable(f"unreadable uplink ({type(exc).__name__})")
            client.ack(message.mid, message.qos)
            with self._lock:
                self._arrived.append((message.mid, Refused(str(exc))))
            return
        with self._lock:
            if uplink.frame in self._queued or uplink.frame in self._recent:
                # Acknowledged with the frame it repeats, never before: it may be the
                # broker's redelivery of that very message.
                self.repeats += 1
                self._arrived.append((message.mid, None))
                log.info("lorawan %s: repeat of frame %s dropped", self.device_id, uplink.frame)
                return
            self._queued.add(uplink.frame)
            self._arrived.append((message.mid, uplink))
        if not uplink.timed_by_network:
            log.warning("lorawan %s: uplink fCnt %d has no time: stamped on receipt",
                        self.device_id, uplink.frame[1])

    def read(self, now_ms: int) -> list[Reading]:
        """The uplinks that arrived since the last turn, in order, up to the first refused
        one. Raises: DeviceReadError when refused uplinks come first (they are consumed, so
        the next turn goes on with what follows them)."""
        if not self._started:
            self._start()
        readings: list[Reading] = []
        refused: list[str] = []
        with self._lock:
            while self._arrived:
                mid, item = self._arrived[0]
                if isinstance(item, Refused):
                    if readings:
                        break
                    refused.append(item.reason)
                elif refused:
                    break
                else:
                    self._taken.append(mid)  # a repeat (None) goes with its frame
                    if item is not None:
                        self._queued.discard(item.frame)
                        self._recent.append(item.frame)
                        readings.append(item.reading)
                self._arrived.popleft()
        if refused:
            raise DeviceReadError(f"device {self.device_id}: {len(refused)} LoRaWAN uplink(s)"
                                  f" gave no reading: {refused[0]}")
        return readings
