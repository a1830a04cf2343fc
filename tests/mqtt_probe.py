"""A small MQTT client for tests that records what the real broker answered."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

DEADLINE_S = 10.0
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
DROPPED = "dropped before CONNACK"
CLOSED = "closed before PUBACK"
NOT_CONNECTED = "not connected"


@dataclass(frozen=True, slots=True)
class Tls:
    """TLS to the broker: the CA that signed its certificate, and a client certificate
    (mutual TLS) when ``cert`` and ``key`` are given."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None


@dataclass
class Probe:
    client: mqtt.Client
    client_id: str
    connected: threading.Event = field(default_factory=threading.Event)
    connect_reason: str = ""
    session_present: bool = False
    disconnects: list[str] = field(default_factory=list)
    publish_reasons: list[str] = field(default_factory=list)
    subscribe_reasons: list[str] = field(default_factory=list)
    messages: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes) -> str:
        """Publish QoS 1 and return the PUBACK's reason, or ``CLOSED: <reason>`` when the
        broker closed the connection without one (Mosquitto closes a client after refusing
        its publish, and under load the close can come first). On a connection already
        closed: ``NOT_CONNECTED: <reason>`` at once, not a wait for a close that came before."""
        if self.disconnects:  # a probe never reconnects
            return f"{NOT_CONNECTED}: {self.disconnects[-1]}"
        before, closed = len(self.publish_reasons), len(self.disconnects)
        self.client.publish(topic, payload, qos=1)
        self._wait(lambda: len(self.publish_reasons) > before or len(self.disconnects) > closed,
                   "PUBACK")
        if len(self.publish_reasons) > before:
            return self.publish_reasons[before]
        return f"{CLOSED}: {self.disconnects[closed]}"

    def subscribe(self, topic: str) -> str:
        before = len(self.subscribe_reasons)
        self.client.subscribe(topic, qos=1)
        self._wait(lambda: len(self.subscribe_reasons) > before, "SUBACK")
        return self.subscribe_reasons[before]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _wait(self, predicate, what: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {DEADLINE_S}s ({self._network()})")
            time.sleep(0.01)

    def _network(self) -> str:
        """What the client side looked like: paho's loop ends without telling anyone when
        select() fails on its socket (a descriptor past 1023, or one closed under it)."""
        sock = self.client.socket()
        name = f"paho-mqtt-client-{self.client_id}"  # paho's name for its loop thread
        loops = sum(thread.name == name for thread in threading.enumerate())
        return (f"socket fd {sock.fileno() if sock is not None else None}, "
                f"{loops} network loop(s) named {name!r} running, disconnects {self.disconnects}")


def connect(port: int, client_id: str, username: str | None = None,
            password: str | None = None, *, tls: Tls | None = None, host: str = "127.0.0.1",
            clean_start: bool = True, session_expiry_s: int | None = None) -> Probe:
    """Connect (MQTT 5) and wait for the broker's CONNACK, whatever it says. A connection
    the broker closes before any CONNACK (a TLS handshake it refused) has
    ``connect_reason`` ``"dropped before CONNACK: <why>"``.

    Raises:
        AssertionError: neither a CONNACK nor a closed connection within ``DEADLINE_S``.
    """
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                         reconnect_on_failure=False)
    probe = Probe(client, client_id)
    if username is not None:
        client.username_pw_set(username, password)
    if tls is not None:
        client.tls_set(ca_certs=str(tls.ca), certfile=str(tls.cert) if tls.cert else None,
                       keyfile=str(tls.key) if tls.key else None)
    properties = None
    if session_expiry_s is not None:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = session_expiry_s

    def on_connect(_c, _u, flags, reason, _p) -> None:
        probe.connect_reason = str(reason)
        probe.session_present = bool(flags.session_present)
        probe.connected.set()

    def on_disconnect(_c, _u, _f, reason, _p) -> None:
        probe.disconnects.append(str(reason))
        if not probe.connected.is_set():
            probe.connect_reason = f"{DROPPED}: {reason}"
            probe.connected.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_publish = lambda _c, _u, _mid, reason, _p: probe.publish_reasons.append(str(reason))
    client.on_subscribe = lambda _c, _u, _mid, reasons, _p: probe.subscribe_reasons.extend(
        str(r) for r in reasons)
    client.on_message = lambda _c, _u, msg: probe.messages.append((msg.topic, msg.payload))
    try:
        client.connect(host, port, clean_start=clean_start, properties=properties)
    except (ssl.SSLError, OSError) as exc:  # TLS 1.2 fails here, TLS 1.3 after the handshake
        probe.connect_reason = f"{DROPPED}: {exc}"
        return probe
    client.loop_start()
    if not probe.connected.wait(DEADLINE_S):
        network = probe._network()
        probe.close()
        raise AssertionError(f"no CONNACK within {DEADLINE_S}s ({network})")
    return probe
