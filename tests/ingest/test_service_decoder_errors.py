"""The worker's catch-all: a message the decoder raises on (a decoder bug; decoding is meant
never to raise) is dead-lettered as ``decoder_error``, counted, exported and logged with its
traceback, and the worker goes on. A real ``IngestService`` against the real broker and
influxd, given a decoder that raises on one message."""

from __future__ import annotations

import json
import logging
import threading
import time

import httpx
import pytest
from iotgw.devices import telemetry_topic
from iotgw.ingest import IngestService, decode_message
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.ingest.points import Context, Decoded

from iotgw.processes import free_port
from tests.e2e.spine import Spine

pytestmark = pytest.mark.integration

POISON = b'"poison"'


class DecoderBug(Exception):
    """What a decoder bug looks like to the worker."""


def decode_or_raise(topic: str, payload: bytes, ctx: Context) -> Decoded:
    if POISON in payload:
        raise DecoderBug("the decoder met a case nobody thought of")
    return decode_message(topic, payload, ctx)


def _batch(gateway: str, device: str, now_ms: int, seq: int) -> bytes:
    readings = [{"device": device, "ts": now_ms - i * 1000, "values": {"voltage": 230.0 + i}}
                for i in range(3)]
    return json.dumps({"v": 1, "gateway": gateway, "seq": seq, "readings": readings}).encode()


def _stored(spine: Spine) -> dict[str, int]:
    return {device: len(rows) for device, rows in spine.stored().items()}


def test_a_message_the_decoder_raises_on_is_dead_lettered_and_the_worker_goes_on(
        spine: Spine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="iotgw.ingest")
    port = free_port()
    cfg = spine.ingest_config(metrics_port=port)
    spine.ingest_configs.append(cfg)  # the spine retires its session at the end
    service = IngestService(cfg, decode=decode_or_raise)
    stop = threading.Event()
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            service.run(stop)
        except BaseException as exc:  # handed to the test's thread, which asserts none
            failures.append(exc)

    worker = threading.Thread(target=serve, name="ingest-under-test", daemon=True)
    worker.start()
    try:
        spine.wait_until(lambda: any(SUBSCRIBED in r.getMessage() for r in caplog.records),
                         timeout_s=30, what="the worker's subscription")
        gateway = f"{spine.name}-gw"
        now_ms = int(time.time() * 1000)
        poison = json.dumps({"v": 1, "gateway": gateway, "seq": 2, "note": "poison"}).encode()
        spine.publish_raw(gateway, [_batch(gateway, "before", now_ms, 1), poison,
                                    _batch(gateway, "after", now_ms, 3)])
        spine.wait_until(lambda: _stored(spine) == {"before": 3, "after": 3} and spine.dead_letters(),
                         timeout_s=30, what="the good readings and one dead letter")
        [letter] = spine.dead_letters()
        assert letter.payload == poison and letter.topic == telemetry_topic(gateway)
        assert "DecoderBug: the decoder met a case nobody thought of" in letter.reason, letter.reason
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "iotgw_ingest_decoder_errors_total 1.0" in metrics
        assert 'iotgw_ingest_dead_letters_total{kind="decoder_error"} 1.0' in metrics
        assert service.stats.decoder_errors == 1
        logged = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
        assert len(logged) == 1 and logged[0].exc_info[0] is DecoderBug  # with its traceback
        # Still serving: what comes next is stored too.
        spine.publish_raw(gateway, [_batch(gateway, "later", now_ms, 4)])
        spine.wait_until(lambda: _stored(spine).get("later") == 3, timeout_s=30, what="a later batch")
        assert worker.is_alive() and failures == []
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive() and failures == []
