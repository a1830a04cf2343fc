"""A gateway agent reading field drivers, killed (-9) in the middle and restarted: none of
their readings lost on the way to InfluxDB (real broker, ingest and gateway processes).

- LoRaWAN (ChirpStack v4 MQTT integration): uplinks taken but not yet committed when the
  gateway dies are not acknowledged, and those published while it is dead wait in its
  persistent session; both arrive after the restart.
- OPC UA: readings taken while the upstream broker is away wait in the gateway's buffer;
  the gateway is killed with them there, and publishes them after its restart.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from iotgw.gateway import Buffer, GatewayConfig
from iotgw.gateway.config import BrokerConfig, BufferConfig, DeviceConfig

from tests.e2e.spine import Spine
from tests.faults import ledger
from tests.faults.ledger import Tally
from tests.gateway.drivers.lorawan.chirpstack import DEV_EUI, FIELDS, publish, retire, uplink
from tests.gateway.drivers.opcua.server import LineServer

pytestmark = [pytest.mark.integration, pytest.mark.faults]

T0_MS = 1_795_940_102_000  # 2026-11-29T08:15:02Z: the first uplink's time
UPLINKS = 40  # the first half before the kill, the second while the gateway is dead


def _gateway(spine: Spine, tmp_path: Path, device: DeviceConfig) -> GatewayConfig:
    return GatewayConfig(
        gateway_id=f"{spine.name}-gw",
        broker=BrokerConfig(port=spine.broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0),
        buffer=BufferConfig(path=tmp_path / "gw.sqlite"), devices=[device])


def _uplink(f_cnt: int) -> dict:
    """Frame ``f_cnt`` of the soil probe, a minute after the previous one; its moisture
    reading (tenths of a percent) tells which frame a stored point came from."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T0_MS / 1000 + f_cnt * 60))
    return uplink("soil_probe", fCnt=f_cnt, time=f"{stamp}.250Z",
                  object={"soil": {"moisture": 100 + f_cnt, "temperature": 20 + f_cnt / 10}})


def test_lorawan_uplinks_survive_a_gateway_kill(spine: Spine, tmp_path: Path) -> None:
    device_id = f"{spine.name}-probe"
    device = DeviceConfig(id=device_id, driver="lorawan", profile="soil_probe", interval_s=0.2,
                          lorawan={"broker": {"port": spine.broker.port}, "dev_eui": DEV_EUI,
                                   "fields": FIELDS})
    spine.start_ingest()
    gateway = spine.start_gateway(_gateway(spine, tmp_path, device))
    try:
        spine.wait_until(lambda: "subscribed to" in gateway.log_tail(), what="the subscription")
        publish(spine.broker.port, [_uplink(n) for n in range(1, UPLINKS // 2 + 1)])
        spine.wait_until(lambda: spine.count() > 0, timeout_s=30, what="the first uplinks stored")
        gateway.kill()
        publish(spine.broker.port, [_uplink(n) for n in range(UPLINKS // 2 + 1, UPLINKS + 1)])
        gateway.start()
        spine.wait_for_count(UPLINKS)
        time.sleep(1.0)  # anything extra would show up now
        rows = spine.stored().get(device_id, [])
    finally:
        gateway.kill()
        retire(spine.broker.port, device_id)
    expected = {T0_MS + n * 60_000 + 250: pytest.approx(10 + n / 10) for n in range(1, UPLINKS + 1)}
    stored = {row["time"]: row["soil_moisture"] for row in rows}
    wrong = [f"at {t}: {v} != {expected[t]}" for t, v in stored.items() if t in expected and v != expected[t]]
    lost = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    ledger.none_lost("gateway kill -9 while taking LoRaWAN uplinks (ChirpStack v4)", Tally(
        UPLINKS, len(rows), len(lost), len(extra), len(wrong),
        tuple([f"lost {t}" for t in lost] + [f"extra {t}" for t in extra] + wrong)))


def _buffered(path: Path) -> dict[int, float]:
    """What the killed gateway's buffer holds: air temperature by reading time."""
    buffer = Buffer(path)
    try:
        pending = buffer.take(after_id=0, max_readings=10_000, max_bytes=16_000_000, skip=set())
    finally:
        buffer.close()
    readings = json.loads(f"[{pending.body}]") if pending else []
    return {r["ts"]: r["values"]["air_temperature"] for r in readings}


def test_opcua_readings_buffered_before_a_gateway_kill_are_published_after(
        spine: Spine, tmp_path: Path) -> None:
    line = LineServer()
    line.start()
    device_id = f"{spine.name}-line1"
    device = DeviceConfig(id=device_id, driver="opcua", profile="weather_station", interval_s=0.1,
                          opcua={"endpoint": line.endpoint, "timeout_s": 1,
                                 "nodes": {"air_temperature": "ns=2;s=Line1.Temperature"}})
    cfg = _gateway(spine, tmp_path, device)
    spine.start_ingest()
    gateway = spine.start_gateway(cfg)
    try:
        spine.wait_until(lambda: spine.count() > 0, timeout_s=30, what="the first readings stored")
        spine.broker.stop()  # upstream away: what the gateway reads now stays in its buffer
        for step in range(10):
            line.set("Line1.Temperature", 30.0 + step)
            time.sleep(0.2)
        gateway.kill()
        buffered = _buffered(cfg.buffer.path)
        before = _temperatures(spine, device_id)
        assert set(buffered) - set(before), "the kill must leave readings that only the buffer holds"
        expected = {**before, **buffered}
        spine.broker.start()
        gateway.start()
        deadline = time.monotonic() + 60
        while not set(expected) <= set(_temperatures(spine, device_id)) and time.monotonic() < deadline:
            time.sleep(0.25)
    finally:
        gateway.kill()
        line.close()
    stored = _temperatures(spine, device_id)
    lost = sorted(set(expected) - set(stored))
    wrong = [f"at {t}: {stored[t]} != {v}" for t, v in expected.items() if t in stored and stored[t] != v]
    ledger.none_lost("gateway kill -9 with OPC UA readings buffered (broker away)", Tally(
        len(expected), len(set(expected) & set(stored)), len(lost), 0, len(wrong),
        tuple([f"lost {t}" for t in lost] + wrong)))


def _temperatures(spine: Spine, device_id: str) -> dict[int, float]:
    return {row["time"]: row["air_temperature"] for row in spine.stored().get(device_id, [])}
