"""The agent's MQTT connection: paho-mqtt, MQTT 5, QoS 1, status with a Last Will.

paho's network thread reports PUBACKs, commands and ingest's confirmations that batches
are stored (``iot/v1/{gateway}/stored``, subscribed QoS 1 when ``stored`` is asked for)
into a queue; the agent's own thread owns the
buffer and consumes them, so SQLite is only ever touched from one thread. paho keeps
every unacknowledged QoS 1 message and re-sends it, same message id, after a reconnect,
so an acknowledgement always maps back to the buffered rows it covers.

It also tells when another client holds this gateway's id (gateway/takeover.py): it says
so once, backs off, and reports ``id_conflicts`` in the status and every heartbeat.
"""

from __future__ import annotations

import logging
import queue
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Literal

import paho.mqtt.client as mqtt
from iotgw.devices import GatewayStatus, cmd_topic, result_topic, status_topic
from iotgw.devices.telemetry import DeviceReadErrors, StoredAck
from iotgw.devices.topics import stored_topic
from iotgw.gateway.config import BrokerConfig
from iotgw.gateway.health import agent_version
from iotgw.gateway.takeover import CONNECTION_LOST, SESSION_TAKEN_OVER, TakeoverWatch
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)


# MQTT 5 PUBACK reason 0x10: the broker accepted the message but no subscription matched,
# so it was delivered nowhere. Mosquitto says so after a restart, until ingest has
# subscribed again (it does not restore shared subscriptions from its persistence file),
# and on a first deployment before any ingest worker has subscribed.
NO_MATCHING_SUBSCRIBERS = 0x10


@dataclass(frozen=True, slots=True)
class Ack:
    """The broker's answer to one publish. ``delivered`` is True only when the broker took
    the message for at least one subscriber; otherwise its readings must be kept."""

    mid: int
    delivered: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Connected:
    """Marks a (re)connection in the event queue."""


@dataclass(frozen=True, slots=True)
class Command:
    """A message on ``iot/v1/{gateway}/cmd/{name}``; ``correlation`` is MQTT 5's
    Correlation Data, returned with the answer."""

    name: str
    payload: bytes
    correlation: bytes | None


@dataclass(frozen=True, slots=True)
class Stored:
    """Ingest's word that the batches of these sequence numbers are stored."""

    seqs: list[int]


Event = Ack | Connected | Command | Stored

_DIAGNOSE_EVERY_S = 60.0


def diagnose(broker: BrokerConfig) -> str:
    """Why a connection to the broker fails, in words an installer can act on: found by
    trying TCP and, with TLS, a handshake with the gateway's own CA and certificate."""
    where = f"{broker.host}:{broker.port}"
    try:
        sock = socket.create_connection((broker.host, broker.port), timeout=5)
    except OSError as exc:
        return f"cannot reach {where}: {exc.strerror or exc}"
    if broker.tls is None:
        sock.close()
        return f"{where} accepts TCP but ended the MQTT session (wrong port, or TLS expected?)"
    tls = broker.tls
    try:
        context = ssl.create_default_context(cafile=str(tls.ca_file))
        if tls.cert_file is not None and tls.key_file is not None:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        with context.wrap_socket(sock, server_hostname=broker.host) as conn:
            conn.settimeout(2)
            conn.recv(1)  # under TLS 1.3 the broker's verdict on our certificate comes now
    except ssl.SSLCertVerificationError as exc:
        return f"the broker's certificate is not trusted by {tls.ca_file}: {exc.verify_message}"
    except ssl.SSLError as exc:
        refused = "CERTIFICATE" in (exc.reason or "").upper() or "UNKNOWN_CA" in (exc.reason or "")
        return (f"the broker refused this gateway's certificate {tls.cert_file} ({exc.reason})"
                if refused else f"TLS with {where} failed: {exc.reason or exc}")
    except TimeoutError:
        return f"TLS with {where} works; the broker refused the MQTT session (account or ACL?)"
    except OSError as exc:
        return f"TLS with {where} failed: {exc}"
    finally:
        sock.close()
    return f"TLS with {where} works, but the broker closed the connection"


def _status(state: Literal["online", "offline"], *, ts: int | None,
            health: dict[str, float] | None = None,
            read_errors: dict[str, DeviceReadErrors] | None = None) -> str:
    """``ts`` None: unstamped (the Last Will: nobody knows when the connection will die)."""
    return GatewayStatus(state=state, ts=ts, health=health or {}, version=agent_version(),
                         read_errors=read_errors or {}).model_dump_json(exclude_none=True)


class Publisher:
    def __init__(self, gateway_id: str, broker: BrokerConfig, *, inflight_window: int,
                 stored: bool = False) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self._connected = threading.Event()
        self._status_topic = status_topic(gateway_id)
        self._gateway_id = gateway_id
        self._commands = cmd_topic(gateway_id, "any").removesuffix("any") + "+"
        self._stored_topic = stored_topic(gateway_id) if stored else None
        self._broker = broker
        self._last_status_ms = 0
        self._status_lock = threading.Lock()  # paho's thread (on connect) and the agent's stamp
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=gateway_id, protocol=mqtt.MQTTv5,
        )
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls is not None:
            tls = broker.tls
            client.tls_set(
                ca_certs=str(tls.ca_file),
                certfile=str(tls.cert_file) if tls.cert_file else None,
                keyfile=str(tls.key_file) if tls.key_file else None,
            )
        client.max_inflight_messages_set(inflight_window)
        client.reconnect_delay_set(broker.reconnect_min_s, broker.reconnect_max_s)
        client.will_set(self._status_topic, _status("offline", ts=None), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_connect_fail = self._on_connect_fail
        self._client = client
        self._diagnosed_at = -_DIAGNOSE_EVERY_S
        self.takeover = TakeoverWatch(broker.takeover_count, broker.takeover_window_s,
                                      broker.reconnect_max_s, broker.takeover_backoff_max_s)
        self._connected_at = 0.0
        self._lost_at: float | None = None  # a connection the broker closed, unless it refuses the next

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        """Connect in the background; paho retries with capped exponential backoff."""
        self._client.connect_async(
            self._broker.host, self._broker.port, keepalive=self._broker.keepalive_s,
        )
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes) -> int:
        """Queue a QoS 1 publish; returns its message id."""
        info = self._client.publish(topic, payload, qos=1)
        return info.mid

    def heartbeat(self, health: dict[str, float], *,
                  read_errors: dict[str, DeviceReadErrors] | None = None) -> None:
        """Retained ``online`` status with the health numbers and ``id_conflicts`` (takeovers
        in the current conflict, 0 when none), and the devices' read errors; skipped while
        disconnected (the next one carries current numbers, so a missed one loses nothing)."""
        if not self.connected:
            return
        if self.takeover.held(time.monotonic() - self._connected_at):
            log.warning("connection to the broker held for %.0f s: no other client uses id %s"
                        " any more; reconnect delays back to normal",
                        time.monotonic() - self._connected_at, self._gateway_id)
            self._client.reconnect_delay_set(self._broker.reconnect_min_s, self._broker.reconnect_max_s)
        health = {**health, "id_conflicts": float(self.takeover.conflict)}
        status = _status("online", ts=self._status_ms(), health=health, read_errors=read_errors)
        self._client.publish(self._status_topic, status, qos=1, retain=True)

    def respond(self, command: Command, answer: bytes) -> None:
        """Answer a command on its result topic (QoS 1, not retained)."""
        props = None
        if command.correlation is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.CorrelationData = command.correlation
        self._client.publish(result_topic(self._gateway_id, command.name), answer, qos=1,
                             properties=props)

    def stop(self) -> None:
        """Announce a clean shutdown (the Last Will is for unclean ones) and disconnect."""
        if self.connected:
            status = _status("offline", ts=self._status_ms())
            info = self._client.publish(self._status_topic, status, qos=1, retain=True)
            info.wait_for_publish(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()

    def _status_ms(self) -> int:
        """Now, and always after the previous status: ingest stores a status as a point at its
        time, and InfluxDB keeps one point per series and time, so a clean stop's ``offline``
        in the same millisecond as the last heartbeat would merge into it."""
        with self._status_lock:
            self._last_status_ms = max(int(time.time() * 1000), self._last_status_ms + 1)
            return self._last_status_ms

    def _on_connect(
        self, client: mqtt.Client, _userdata: object, _flags: mqtt.ConnectFlags,
        reason: ReasonCode, _props: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("broker %s:%s refused the connection: %s",
                      self._broker.host, self._broker.port, reason)
            self._lost_at = None
            return
        log.info("connected to broker %s:%s", self._broker.host, self._broker.port)
        if self._lost_at is not None:  # the broker closed the last one and took us back at once
            self._taken_over(self._lost_at)
            self._lost_at = None
        self._connected_at = time.monotonic()
        conflict = {"id_conflicts": float(self.takeover.conflict)} if self.takeover.conflict else None
        status = _status("online", ts=self._status_ms(), health=conflict)
        client.publish(self._status_topic, status, qos=1, retain=True)
        client.subscribe([(topic, 1) for topic in (self._commands, self._stored_topic) if topic])
        self._connected.set()
        self.events.put(Connected())

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: object, _flags: mqtt.DisconnectFlags,
        reason: ReasonCode, _props: Properties | None,
    ) -> None:
        connected, lost = self._connected.is_set(), reason.getName() == CONNECTION_LOST
        if connected and (reason.value == SESSION_TAKEN_OVER or (lost and self.takeover.conflict)):
            if not self.takeover.conflict:
                log.warning("disconnected from broker: %s", reason)
            self._taken_over(time.monotonic())
        elif connected:
            log.warning("disconnected from broker: %s", reason)
            if lost:  # a takeover if the broker takes the reconnection at once (not if it is down)
                self._lost_at = time.monotonic()
        else:  # dropped before its CONNACK: under TLS 1.3, how a refused certificate shows
            self._on_connect_fail(_client, _userdata)
        self._connected.clear()

    def _taken_over(self, at: float) -> None:
        """The broker ended a session it had accepted at ``at``: maybe a clone took it over.
        In a conflict, the delay before the next reconnection doubles."""
        watch = self.takeover
        if watch.taken_over(at):
            log.error("another client is connected as %s (session taken over %d times in %.0f s):"
                      " two gateways share this id (a cloned SD card?). Backing off: reconnecting"
                      " after %.0f s, doubling per takeover up to %.0f s; give the clone its own id"
                      " (README, 'Two gateways with one id')", self._gateway_id, watch.conflict,
                      at - watch.first_s, watch.delay_s, watch.backoff_max_s)
        elif watch.conflict:
            log.info("session taken over again (%d in this conflict): reconnecting in %.0f s",
                     watch.conflict, watch.delay_s)
        else:
            return
        self._client.reconnect_delay_set(watch.delay_s, watch.delay_s)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: object) -> None:
        """paho retries by itself but does not say why: find out, and say it (at most once
        a minute, so a long outage does not flood the log)."""
        self._lost_at = None  # the broker is down or refuses us: that loss was no takeover
        now = time.monotonic()
        if now - self._diagnosed_at >= _DIAGNOSE_EVERY_S:
            self._diagnosed_at = now
            log.error("cannot connect to the broker (retrying): %s", diagnose(self._broker))

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.topic == self._stored_topic:
            try:
                self.events.put(Stored(StoredAck.model_validate_json(message.payload).seq))
            except ValueError as exc:  # pydantic's ValidationError: said, and nothing deleted
                log.warning("ignoring a malformed message on %s: %s", message.topic, exc)
            return
        name = message.topic.rsplit("/", 1)[-1]
        correlation = getattr(message.properties, "CorrelationData", None)
        self.events.put(Command(name, message.payload, correlation))

    def _on_publish(
        self, _client: mqtt.Client, _userdata: object, mid: int, reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        delivered = not reason.is_failure and reason.value != NO_MATCHING_SUBSCRIBERS
        self.events.put(Ack(mid, delivered, str(reason)))
