"""Ingest's confirmations that batches are stored: only for batches that ask (``ack``), to
the gateway of the topic, one message per gateway per write batch, after the write."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from iotgw.devices import TelemetryBatch, telemetry_topic
from iotgw.devices.telemetry import StoredAck
from iotgw.devices.topics import stored_topic
from iotgw.ingest import IngestService, decode_message
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.ingest.stored_acks import confirmations, wanted

from tests.e2e.spine import Spine
from tests.mqtt_probe import connect

NOW_MS = 1_763_800_000_000


def _batch(gateway: str, seq: int, *, ack: bool | None = True, device: str = "d1",
           voltage: object = 230.0) -> bytes:
    body: dict[str, object] = {"v": 1, "gateway": gateway, "seq": seq, "readings": [
        {"device": device, "ts": NOW_MS + seq, "values": {"voltage": voltage}}]}
    if ack is not None:
        body["ack"] = ack
    return json.dumps(body).encode()


def _decoded(payload: bytes) -> TelemetryBatch | None:
    try:
        return TelemetryBatch.model_validate_json(payload)
    except ValueError:
        return None


@pytest.mark.parametrize(("topic", "payload", "expected"), [
    (telemetry_topic("gw-a"), _batch("gw-a", 4), ("gw-a", 4)),
    (telemetry_topic("gw-a"), _batch("gw-a", 5, ack=None), None),  # the earlier contract
    (telemetry_topic("gw-a"), _batch("gw-a", 6, ack=False), None),
    # dead-lettered whole (no valid reading): its own JSON asks, the topic names the gateway
    (telemetry_topic("gw-a"), _batch("gw-a", 7, voltage="high"), ("gw-a", 7)),
    (telemetry_topic("gw-a"), _batch("gw-b", 8), ("gw-a", 8)),  # claims another gateway
    (telemetry_topic("gw-a"), b'[{"bn":"urn:dev:d1:","n":"voltage","v":230}]', None),  # SenML
    (telemetry_topic("gw-a"), b'{"ack":true,"seq":"9"}', None),
    (telemetry_topic("gw-a"), b'{"ack":true,"seq":-1}', None),
    (telemetry_topic("gw-a"), b"{" + b'"a":[' * 100_000, None),  # poison: deep nesting
    ("iot/v1/gw-a/status", b'{"v":1,"ack":true,"seq":1}', None),
    ("elsewhere/gw-a", _batch("gw-a", 10), None),
])
def test_only_batches_that_ask_are_confirmed(topic: str, payload: bytes,
                                             expected: tuple[str, int] | None) -> None:
    assert wanted(topic, payload, _decoded(payload)) == expected


def test_a_batch_with_a_reading_split_off_is_confirmed() -> None:
    """Its valid reading is stored and its invalid one dead-lettered: all accounted for, so
    the gateway is told (else it would send the batch again and again)."""
    payload = json.dumps({"v": 1, "gateway": "gw-a", "seq": 11, "ack": True, "readings": [
        {"device": "d1", "ts": NOW_MS, "values": {"voltage": 230.0}},
        {"device": "d1", "ts": NOW_MS + 1, "values": {"voltage": "high"}}]}).encode()
    decoded = decode_message(telemetry_topic("gw-a"), payload)
    assert (len(decoded.lines), len(decoded.rejected)) == (1, 1)
    assert wanted(telemetry_topic("gw-a"), payload, decoded.batch) == ("gw-a", 11)


def test_one_compact_confirmation_per_gateway() -> None:
    messages = [(telemetry_topic(gw), p, _decoded(p)) for gw, p in [
        ("gw-a", _batch("gw-a", 3)), ("gw-b", _batch("gw-b", 1)), ("gw-a", _batch("gw-a", 2)),
        ("gw-a", _batch("gw-a", 3)), ("gw-a", _batch("gw-a", 9, ack=None))]]
    acks = confirmations(messages)
    assert acks == {"gw-a": StoredAck(seq=[2, 3]), "gw-b": StoredAck(seq=[1])}
    assert acks["gw-a"].model_dump_json() == '{"v":1,"seq":[2,3]}'


@pytest.mark.integration
def test_ingest_confirms_after_the_write_and_only_who_asked(
        spine: Spine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="iotgw.ingest")
    cfg = spine.ingest_config()
    spine.ingest_configs.append(cfg)  # the spine retires its session at the end
    service = IngestService(cfg)
    stop = threading.Event()
    worker = threading.Thread(target=service.run, args=(stop,), name="ingest-under-test", daemon=True)
    worker.start()
    new, old = f"{spine.name}-new", f"{spine.name}-old"
    listener = connect(spine.broker.port, f"{spine.name}-listener")
    try:
        listener.subscribe("iot/v1/+/stored")
        spine.wait_until(lambda: any(SUBSCRIBED in r.getMessage() for r in caplog.records),
                         timeout_s=30, what="the worker's subscription")
        spine.publish_raw(new, [_batch(new, 1), _batch(new, 2, voltage="high")])
        spine.publish_raw(old, [_batch(old, 1, ack=None)])
        spine.wait_until(lambda: listener.messages and spine.count() == 2 and spine.dead_letters(),
                         timeout_s=30, what="the readings, the dead letter and a confirmation")
        time.sleep(1.0)  # a confirmation to the gateway that did not ask would be here by now
        seqs = sorted(s for topic, body in listener.messages
                      for s in StoredAck.model_validate_json(body).seq if topic == stored_topic(new))
        assert seqs == [1, 2]  # the stored reading and the dead-lettered one: both accounted for
        assert {topic for topic, _ in listener.messages} == {stored_topic(new)}
    finally:
        stop.set()
        worker.join(timeout=15)
        listener.close()
