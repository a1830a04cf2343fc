"""The consumer's acknowledgements reach the real broker: a write batch's PUBACKs are sent
as one run of bytes (``Consumer.ack``), and the broker must take every one of them, so that
a worker coming back on its session gets nothing of what it acknowledged, and everything
it did not."""

from __future__ import annotations

import queue
import time

import pytest
from iotgw.devices import telemetry_topic
from iotgw.ingest import Consumer
from iotgw.ingest.config import MqttConfig
from iotgw.ingest.consumer import Delivery, retire_session

from tests.mqtt_probe import Probe, connect

pytestmark = pytest.mark.integration

DEADLINE_S = 20.0
READY = b"ready"


def _take(consumer: Consumer, topic: str, count: int) -> list[Delivery]:
    """The next ``count`` deliveries on ``topic``; ``ready`` probes (``_subscribed``) and
    other topics' messages (the retained statuses earlier tests' gateways left on the
    shared broker) are acknowledged and left out."""
    out: list[Delivery] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(out) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{len(out)} of {count} deliveries within {DEADLINE_S}s")
        try:
            delivery = consumer.deliveries.get(timeout=min(remaining, 0.5))
        except queue.Empty:
            continue
        if delivery.payload == READY or delivery.topic != topic:
            consumer.ack([delivery])
        else:
            out.append(delivery)
    return out


def _subscribed(consumer: Consumer, publisher: Probe, topic: str) -> None:
    """Publish probes until one arrives: from then on the broker keeps the group's messages."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        # Until the consumer's subscription is in place the broker answers that nobody listens.
        assert publisher.publish(topic, READY) in ("Success", "No matching subscribers")
        try:
            while True:  # other topics' retained statuses may come first
                delivery = consumer.deliveries.get(timeout=0.2)
                consumer.ack([delivery])
                if delivery.topic == topic:
                    return
        except queue.Empty:
            continue
    raise AssertionError(f"consumer not subscribed within {DEADLINE_S}s")


@pytest.mark.parametrize("acked", [300, 0])
def test_what_is_acknowledged_is_not_sent_again(broker, acked: int) -> None:
    cfg = MqttConfig(port=broker.port, client_id=f"ack-run-{acked}", share_group=f"acks{acked}")
    topic = telemetry_topic(f"ack-gw-{acked}")
    consumer = Consumer(cfg)
    consumer.start()
    publisher = connect(broker.port, f"ack-pub-{acked}")
    try:
        _subscribed(consumer, publisher, topic)
        for n in range(300):
            assert publisher.publish(topic, str(n).encode()) == "Success"
        first = _take(consumer, topic, 300)
        assert consumer.ack(first[:acked]) == acked
        consumer.stop()
        consumer = Consumer(cfg)  # the same session: what was not acknowledged comes again
        consumer.start()
        assert publisher.publish(topic, b"marker") == "Success"
        again = [d.payload for d in _take(consumer, topic, 300 - acked + 1)]
        assert again == [str(n).encode() for n in range(acked, 300)] + [b"marker"]
    finally:
        consumer.stop()
        publisher.close()
        retire_session(cfg)
