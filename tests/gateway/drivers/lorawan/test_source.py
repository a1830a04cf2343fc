"""The LoRaWAN source against a real Mosquitto, fed ChirpStack v4 uplink events: readings
at the uplinks' times, repeats dropped, unmappable uplinks counted without stalling the
stream, and nothing acknowledged to the broker before the agent has committed it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from iotgw.devices import Reading
from iotgw.gateway.config import DeviceConfig
from iotgw.gateway.drivers.lorawan import make_source
from iotgw.gateway.drivers.lorawan.source import LorawanSource
from iotgw.gateway.errors import DeviceReadError

from iotgw.processes import Mosquitto
from tests.gateway.drivers.lorawan.chirpstack import DEV_EUI, FIELDS, publish, retire, uplink

pytestmark = pytest.mark.integration

T0_MS = 1_795_940_102_000  # 2026-11-29T08:15:02Z


def _event(f_cnt: int, *, moisture: int = 400, dev_addr: str = "00189440") -> dict:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T0_MS / 1000 + f_cnt * 60))
    return uplink("soil_probe", fCnt=f_cnt, devAddr=dev_addr, time=f"{stamp}.000000000Z",
                  object={"soil": {"moisture": moisture}})


@pytest.fixture
def device_id(broker: Mosquitto, unique_name: str) -> Iterator[str]:
    yield f"{unique_name}-probe"
    retire(broker.port, f"{unique_name}-probe")


def _source(broker: Mosquitto, device_id: str) -> LorawanSource:
    device = DeviceConfig(id=device_id, driver="lorawan", profile="soil_probe", interval_s=0.1,
                          lorawan={"broker": {"port": broker.port}, "dev_eui": DEV_EUI.upper(),
                                   "fields": FIELDS})
    source = make_source(device)
    assert isinstance(source, LorawanSource)
    return source


def _subscribed(source: LorawanSource) -> None:
    """Connect (the first read does) and wait for the subscription, deadline 10 s."""
    source.read(0)
    assert source.subscribed.wait(10), "no subscription within 10 s"


def _read(source: LorawanSource, count: int, errors: list[str] | None = None) -> list[Reading]:
    """Read turns until ``count`` readings came, deadline 10 s; read errors go to ``errors``."""
    deadline = time.monotonic() + 10
    got: list[Reading] = []
    while len(got) < count:
        assert time.monotonic() < deadline, f"{len(got)} of {count} readings within 10 s"
        try:
            got.extend(source.read(0))
        except DeviceReadError as exc:
            assert errors is not None, exc
            errors.append(str(exc))
        time.sleep(0.05)
    return got


def test_uplinks_become_readings_at_their_own_time_and_repeats_are_dropped(
        broker: Mosquitto, device_id: str) -> None:
    source = _source(broker, device_id)
    try:
        _subscribed(source)
        # fCnt 2 twice (a retransmission), then a new join: fCnt 1 again under a new address.
        publish(broker.port, [_event(1), _event(2), _event(2), _event(1, dev_addr="01fa23c7", moisture=380)])
        got = _read(source, 3)
        source.committed()
        assert [(r.ts, r.values["soil_moisture"]) for r in got] == [
            (T0_MS + 60_000, 40.0), (T0_MS + 120_000, 40.0), (T0_MS + 60_000, 38.0)]
        assert source.repeats == 1
    finally:
        source.close()


def test_an_unmappable_uplink_is_a_read_error_and_the_stream_goes_on(
        broker: Mosquitto, device_id: str) -> None:
    source = _source(broker, device_id)
    try:
        _subscribed(source)
        publish(broker.port, [_event(1), uplink("no_codec"), b"garbage", _event(3)])
        errors: list[str] = []
        got = _read(source, 2, errors)
        source.committed()
        assert [r.ts for r in got] == [T0_MS + 60_000, T0_MS + 180_000]
        assert source.refused == 2
        assert len(errors) == 1  # the two refused uplinks in a row: one failed turn
        assert device_id in errors[0] and "no decoded object" in errors[0]
    finally:
        source.close()


def test_uplinks_are_acknowledged_only_once_committed(broker: Mosquitto, device_id: str) -> None:
    first = _source(broker, device_id)
    try:
        _subscribed(first)
        publish(broker.port, [_event(1), _event(2)])
        assert len(_read(first, 2)) == 2
    finally:
        first.close()  # gone before the agent committed them
    second = _source(broker, device_id)
    try:
        again = _read(second, 2)  # the broker kept them for the session
        assert [r.ts for r in again] == [T0_MS + 60_000, T0_MS + 120_000]
        second.committed()
    finally:
        second.close()
    third = _source(broker, device_id)
    try:
        publish(broker.port, [_event(3)])
        assert [r.ts for r in _read(third, 1)] == [T0_MS + 180_000]  # and only the new one
        third.committed()
    finally:
        third.close()
