"""End-to-end acknowledgement on the gateway: a PUBACK only hands chunks over; they are
deleted when ingest confirms them stored (``iot/v1/{gateway}/stored``), and what is not
confirmed in time is sent again, flagged replay."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from iotgw.devices import TelemetryBatch, telemetry_topic
from iotgw.devices.telemetry import StoredAck
from iotgw.devices.topics import stored_topic
from iotgw.gateway import GatewayConfig
from iotgw.gateway.buffer import Pending
from iotgw.gateway.config import BrokerConfig, BufferConfig, DeviceConfig
from iotgw.gateway.handover import Handover
from iotgw.gateway.service import Agent, encode_batch
from iotgw.simulators import SimulatedSource

from iotgw.processes import Mosquitto
from tests.mqtt_probe import connect


def _pending(*ids: int) -> Pending:
    return Pending(list(ids), "", len(ids))


def test_handed_chunks_wait_until_confirmed_and_unknown_numbers_are_ignored() -> None:
    handover = Handover(timeout_s=60)
    handover.hand(7, _pending(1, 2), now=0.0)
    handover.hand(8, _pending(3), now=1.0)
    assert handover.ids == {1, 2, 3} and handover.last_id == 3 and handover.readings == 3
    [done] = handover.stored([8, 99])  # 99: sent before a reconnect, or confirmed twice
    assert done.ids == [3] and handover.ids == {1, 2} and len(handover) == 1
    assert handover.stored([8]) == []


def test_what_waits_past_the_timeout_or_a_reconnect_is_released() -> None:
    handover = Handover(timeout_s=10)
    handover.hand(1, _pending(1), now=0.0)
    handover.hand(2, _pending(2, 3), now=5.0)
    assert handover.release_expired(now=10.0) == []  # not more than the timeout yet
    assert handover.release_expired(now=10.5) == [1]
    assert handover.ids == {2, 3}
    handover.hand(3, _pending(4), now=11.0)
    assert handover.release_all() == [2, 3, 4]
    assert (handover.ids, handover.last_id, len(handover)) == (set(), 0, 0)
    assert handover.stored([2, 3]) == []  # a confirmation that comes after the release


def test_a_batch_asks_for_confirmation_only_when_told() -> None:
    pending = Pending([1], '{"device":"d1","ts":1763800000000,"values":{"voltage":230.0}}', 1)
    assert TelemetryBatch.model_validate_json(encode_batch("gw-1", 3, False, pending, ack=True)).ack
    earlier = json.loads(encode_batch("gw-1", 4, False, pending))
    assert "ack" not in earlier  # the earlier contract's message, byte for byte
    assert not TelemetryBatch.model_validate(earlier).ack


def _wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout_s}s waiting for {what}"
        time.sleep(0.05)


def _depth(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT coalesce(sum(count), 0) FROM chunks").fetchone()[0])


@pytest.mark.integration
def test_an_agent_deletes_only_what_ingest_confirms_and_resends_the_rest(
    broker: Mosquitto, unique_name: str, tmp_path: Path,
) -> None:
    gateway = f"{unique_name}-gw"
    buffer = tmp_path / "b.sqlite"
    config = GatewayConfig(
        gateway_id=gateway, broker=BrokerConfig(host=broker.host, port=broker.port),
        buffer=BufferConfig(path=buffer, stored_timeout_s=1.0),
        devices=[DeviceConfig(id="d1", driver="simulated", profile="soil_probe", interval_s=0.01,
                              samples=5)])
    ingest = connect(broker.port, f"{unique_name}-ingest")  # stands in for ingest, by hand
    ingest.subscribe(telemetry_topic(gateway))
    stop = threading.Event()

    def run() -> None:  # the agent's SQLite connections belong to the thread that runs it
        Agent(config, [SimulatedSource(d) for d in config.devices]).run(stop, exit_when_drained=True)

    runner = threading.Thread(target=run)
    runner.start()
    try:
        def batches() -> list[TelemetryBatch]:
            return [TelemetryBatch.model_validate_json(p) for _, p in list(ingest.messages)]

        _wait_until(lambda: sum(len(b.readings) for b in batches()) >= 5, "the readings at the broker")
        first = batches()
        assert all(b.ack for b in first)
        # The broker acknowledged them, nobody confirmed them stored: still buffered, and
        # sent again (replay, new numbers) once stored_timeout_s has passed.
        _wait_until(lambda: sum(len(b.readings) for b in batches()) >= 10, "a resend")
        assert _depth(buffer) == 5 and runner.is_alive()
        again = batches()[len(first):]
        assert all(b.replay for b in again)
        assert {b.seq for b in again}.isdisjoint(b.seq for b in first)
        assert sorted(r.ts for b in again for r in b.readings)[:5] == sorted(
            r.ts for b in first for r in b.readings)
        # Ingest confirms every number it saw: the agent deletes the chunks and is drained.
        confirm = StoredAck(seq=sorted({b.seq for b in batches()})).model_dump_json().encode()
        assert ingest.publish(stored_topic(gateway), confirm) == "Success"
        runner.join(timeout=15)
        assert not runner.is_alive(), "the agent did not drain after the confirmation"
        assert _depth(buffer) == 0
    finally:
        stop.set()
        runner.join(timeout=15)
        ingest.close()
