"""Telling gateways which of their batches are stored (end-to-end acknowledgement).

A gateway's PUBACK comes from the broker, which may lose what it has not yet delivered: a
kill -9 of Mosquitto loses the messages it was queueing for an ingest worker that was
down (it saves its state once a second and does not restore shared subscriptions). So a
gateway of the current contract asks (``"ack": true`` in its batch) to be told when a
batch's readings are stored, and deletes them only then. Ingest answers after a write
batch is in InfluxDB and its dead letters are committed (a dead-lettered reading is
accounted for too): one ``StoredAck`` per gateway per write batch on
``iot/v1/{gateway}/stored``, QoS 1, listing the batches' ``seq``.

Only batches that asked are answered: gateways of the earlier contract, and SenML devices
publishing directly, are done with a message at the broker's PUBACK and are told nothing.
The answer goes to the gateway of the topic (the broker lets a gateway write only under
its own id), whatever the batch says.

Confirmations are sent on a connection of their own (client id ``<worker>-stored``, clean
session): the worker's consumer connection stays a pure subscriber. A confirmation lost
(this connection down, the gateway offline) costs a repeat, not a reading: the gateway
sends what is unconfirmed again after it reconnects or after its ``stored_timeout_s``.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable

from iotgw.devices import TelemetryBatch
from iotgw.devices.telemetry import StoredAck
from iotgw.devices.topics import TopicError, stored_topic
from iotgw.ingest.config import MqttConfig
from iotgw.ingest.consumer import mqtt_client
from iotgw.ingest.decode import topic_parts
from iotgw.ingest.wire import WireBatch

log = logging.getLogger(__name__)

Received = tuple[str, bytes, TelemetryBatch | WireBatch | None]  # topic, payload, its decoded envelope


def wanted(topic: str, payload: bytes, batch: TelemetryBatch | WireBatch | None) -> tuple[str, int] | None:
    """(gateway, seq) if the message asks to be confirmed, else None. ``batch`` is the
    decoded envelope when there is one; a message dead-lettered whole has none, and its
    own JSON is read for ``ack`` and ``seq`` (a malformed one asks nothing)."""
    try:
        parsed = topic_parts(topic)
    except TopicError:
        return None
    if parsed.kind != "telemetry":
        return None
    if batch is not None:
        return (parsed.gateway_id, batch.seq) if batch.ack else None
    if payload.lstrip()[:1] != b"{":  # SenML (a JSON array) or no JSON at all
        return None
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: a poison message's deep nesting
        return None
    if not isinstance(body, dict):
        return None
    seq = body.get("seq")
    if body.get("ack") is True and type(seq) is int and seq >= 0:
        return parsed.gateway_id, seq
    return None


def confirmations(messages: Iterable[Received]) -> dict[str, StoredAck]:
    """One ``StoredAck`` per gateway whose messages asked for one, by gateway."""
    seqs: dict[str, list[int]] = defaultdict(list)
    for topic, payload, batch in messages:
        if (asked := wanted(topic, payload, batch)) is not None:
            seqs[asked[0]].append(asked[1])
    return {gateway: StoredAck(seq=sorted(set(numbers))) for gateway, numbers in seqs.items()}


class StoredAcks:
    """The worker's connection that publishes confirmations."""

    def __init__(self, cfg: MqttConfig) -> None:
        self._cfg = cfg
        self._client = mqtt_client(cfg, client_id=f"{cfg.client_id}-stored")
        self._client.reconnect_delay_set(0.5, 10)
        self.sent = 0  # confirmation messages published

    def start(self) -> None:
        self._client.connect_async(self._cfg.host, self._cfg.port, keepalive=self._cfg.keepalive_s,
                                   clean_start=True)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def confirm(self, messages: Iterable[Received]) -> int:
        """Publish the confirmations of a stored write batch (QoS 1; paho queues them while
        disconnected); returns how many messages that was."""
        acks = confirmations(messages)
        for gateway, ack in acks.items():
            self._client.publish(stored_topic(gateway), ack.model_dump_json(), qos=1)
        self.sent += len(acks)
        return len(acks)
