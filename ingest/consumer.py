"""The ingest worker's MQTT side: MQTT 5 shared subscription, persistent session, manual ack.

paho's network thread puts each delivery in a queue; the service acknowledges it, from its
own thread, only after the delivery's points (or its dead letter) are stored.

Acknowledgements never cross a connection: every disconnect and every connect starts a new
*generation*, and a delivery is acknowledged only in the generation it arrived in. After a
reconnect the broker re-sends what was not acknowledged (the session persists), and if the
broker lost the session, a packet id of the old connection may name a different message
on the new one, which an old acknowledgement would wrongly confirm.
"""

from __future__ import annotations

import logging
import queue
import struct
import threading
import time
from collections.abc import Iterable
from typing import NamedTuple

import paho.mqtt.client as mqtt
from iotgw.devices import STATUS_SUBSCRIPTION, TELEMETRY_SUBSCRIPTION
from iotgw.devices.topics import ROOT
from iotgw.ingest.config import MqttConfig
from paho.mqtt.client import PUBACK
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)


class Delivery(NamedTuple):
    """One message as received; a tuple because paho's thread makes one per message, and a
    frozen dataclass costs several times as much to build."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


SUBSCRIBED = "subscribed to"
_READ_UP_TO_HERE = f"{ROOT}/-/read-up-to-here"  # never subscribed: see Consumer.stop
_PUBACK = struct.Struct("!BBH")


def shared_subscription(group: str, topic: str = TELEMETRY_SUBSCRIPTION) -> str:
    return f"$share/{group}/{topic}"


def mqtt_client(cfg: MqttConfig, *, client_id: str | None = None, manual_ack: bool = False) -> mqtt.Client:
    """A paho client with the link's credentials and TLS; ``client_id`` defaults to the worker's."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id or cfg.client_id, protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password)
    if (tls := cfg.tls) is not None:
        client.tls_set(ca_certs=str(tls.ca_file), certfile=str(tls.cert_file) if tls.cert_file else None,
                       keyfile=str(tls.key_file) if tls.key_file else None)
    return client


class Consumer:
    def __init__(self, cfg: MqttConfig) -> None:
        self.cfg = cfg
        # SimpleQueue: no task tracking, a fraction of Queue's cost per message put and taken
        self.deliveries: queue.SimpleQueue[Delivery] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._generation = 0
        self._connected = False
        client = mqtt_client(cfg, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(0.5, 10)
        self._client = client

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.cfg.session_expiry_s
        props.ReceiveMaximum = self.cfg.receive_maximum
        self._client.connect_async(
            self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s,
            clean_start=False, properties=props,
        )
        self._client.loop_start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Disconnect without acknowledging what is pending: the session keeps it.

        What ``ack`` reported as sent must be read by the broker first. Mosquitto reads a
        connection's packets one per turn of its loop, so PUBACKs may still wait in its
        socket after the DISCONNECT is written and the socket closed; a worker back on its
        client id before then takes the session over, the old socket is dropped unread and
        the acknowledged messages come again. The broker answers a connection's packets in
        order: its UNSUBACK (for a filter this client never subscribed to) says every PUBACK
        before it was read. Without an answer by ``timeout_s`` it disconnects anyway."""
        answered = threading.Event()
        self._client.on_unsubscribe = lambda *_: answered.set()
        deadline = time.monotonic() + timeout_s
        if self._connected and self._client.unsubscribe(_READ_UP_TO_HERE)[0] == mqtt.MQTT_ERR_SUCCESS:
            while not answered.wait(0.05):
                if not self._connected or time.monotonic() > deadline:
                    log.warning("broker did not confirm reading the last acknowledgements")
                    break
        self._client.disconnect()
        self._client.loop_stop()

    def ack(self, deliveries: Iterable[Delivery]) -> int:
        """Acknowledge deliveries of the current connection; returns how many were sent.

        A write batch's PUBACKs go to paho's send queue as one run of bytes: one queued
        packet and one socket write instead of one of each per message (paho's ``ack``),
        which at one reading per message were most of the writer thread's time. A PUBACK is four
        bytes (type, length 2, packet id; MQTT 5 allows leaving out reason code 0), and
        paho's writer sends queued bytes as they are, handling partial writes; a run
        queued before a disconnect is dropped with paho's queue, as single acks are."""
        sent = 0
        with self._lock:
            if not self._connected:
                return 0
            run = bytearray()
            for delivery in deliveries:
                if delivery.generation != self._generation or delivery.qos == 0:
                    continue
                if delivery.qos == 1:
                    run += _PUBACK.pack(PUBACK, 2, delivery.mid)
                else:
                    self._client.ack(delivery.mid, delivery.qos)
                sent += 1
            if run:
                self._client._packet_queue(PUBACK, bytes(run), 0, 1)  # paho 2.x private API, see above
        return sent

    def _on_connect(
        self, client: mqtt.Client, _userdata: object, flags: mqtt.ConnectFlags,
        reason: ReasonCode, _props: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("broker %s:%s refused the connection: %s",
                      self.cfg.host, self.cfg.port, reason)
            return
        with self._lock:
            self._generation += 1
            self._connected = True
        log.info("connected to broker %s:%s as %s (session present: %s)",
                 self.cfg.host, self.cfg.port, self.cfg.client_id, flags.session_present)
        # Subscribing again on a resumed session is harmless; on a lost one it is needed.
        client.subscribe([(shared_subscription(self.cfg.share_group, topic), 1)
                          for topic in (TELEMETRY_SUBSCRIPTION, STATUS_SUBSCRIPTION)])

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: object, _mid: int, reasons: list[ReasonCode],
        _props: Properties | None,
    ) -> None:
        topic = shared_subscription(self.cfg.share_group, f"{ROOT}/+/(telemetry|status)")
        if any(r.is_failure for r in reasons):
            log.error("broker refused the subscription %s: %s", topic, reasons)
        else:
            # Operators and the local stack wait for this line: only from now on does the
            # broker keep this group's messages (before, a message with no subscriber is dropped).
            log.info("%s %s", SUBSCRIBED, topic)

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: object, _flags: mqtt.DisconnectFlags,
        reason: ReasonCode, _props: Properties | None,
    ) -> None:
        with self._lock:
            self._generation += 1
            was_connected, self._connected = self._connected, False
        if was_connected:
            log.warning("disconnected from broker: %s", reason)

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        self.deliveries.put(Delivery(msg.topic, msg.payload, msg.mid, msg.qos, self._generation))


def retire_session(cfg: MqttConfig, *, timeout_s: float = 10.0) -> bool:
    """End a worker's persistent session for good: connect once with a clean start and a
    zero expiry. Messages still queued for it are dropped by the broker, so only retire a
    worker whose group has other members. Returns False if the broker did not answer."""
    done = threading.Event()
    client = mqtt_client(cfg)
    client.on_connect = lambda c, *_: (done.set(), c.disconnect())
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    client.connect_async(cfg.host, cfg.port, clean_start=True, properties=props)
    client.loop_start()
    ok = done.wait(timeout_s)
    client.loop_stop()
    return ok
