"""The consumer's acknowledgements reach the real broker: a write batch's PUBACKs are sent
as one run of bytes (``Consumer.ack``), and the broker must take every one of them, so that
a worker coming back on its session gets nothing of what it acknowledged, and everything
it did not."""

from __future__ import annotations

import queue
import signal
import threading
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


def _publish_and_take(consumer: Consumer, publisher: Probe, topic: str, count: int) -> list[Delivery]:
    _subscribed(consumer, publisher, topic)
    for n in range(count):
        assert publisher.publish(topic, str(n).encode()) == "Success"
    return _take(consumer, topic, count)


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
        first = _publish_and_take(consumer, publisher, topic, 300)
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


def test_a_worker_back_at_once_gets_nothing_it_acknowledged(broker) -> None:
    """A worker that stops and comes back on its client id before the broker has read its
    last PUBACKs: Mosquitto reads one packet of a connection per turn of its loop, so the new
    connection's CONNECT can take the session over while the old socket still holds unread
    PUBACKs, which are then dropped with it and their messages sent again. The broker is
    frozen (SIGSTOP) from the acknowledgement on, so the order is the loaded broker's worst
    case every time; ``stop`` must not return before the broker has read what it sent."""
    cfg = MqttConfig(port=broker.port, client_id="ack-back", share_group="acks-back")
    topic = telemetry_topic("ack-gw-back")
    consumer = Consumer(cfg)
    consumer.start()
    publisher = connect(broker.port, "ack-pub-back")
    again = Consumer(cfg)
    try:
        first = _publish_and_take(consumer, publisher, topic, 300)
        assert broker.proc is not None
        broker.proc.send_signal(signal.SIGSTOP)
        try:
            assert consumer.ack(first) == 300
            stopping = threading.Thread(target=consumer.stop)
            stopping.start()
            stopping.join(timeout=2.0)
            back_early = not stopping.is_alive()  # stopped with nothing confirmed by the broker
            if back_early:
                again.start()  # its CONNECT waits in the frozen broker's socket
        finally:
            broker.proc.send_signal(signal.SIGCONT)
        stopping.join()
        if not back_early:
            again.start()
        assert publisher.publish(topic, b"marker") == "Success"
        assert [d.payload for d in _take(again, topic, 1)] == [b"marker"]
    finally:
        again.stop()
        publisher.close()
        retire_session(cfg)
