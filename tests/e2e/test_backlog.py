"""A long outage: 100,000 readings wait in a gateway's buffer while the broker is down,
and every one of them is stored once the broker is back."""

from __future__ import annotations

import time

import pytest
from iotgw.devices import Reading
from iotgw.gateway.buffer import Buffer
from iotgw.simulators import SIGNALS

from tests.e2e.spine import Spine

pytestmark = pytest.mark.integration

DEVICES, SAMPLES = 20, 5_000  # 100,000 readings


def test_a_100k_backlog_arrives_in_full_after_the_broker_returns(spine: Spine) -> None:
    [cfg] = spine.fleet(1, DEVICES, SAMPLES, interval_s=1.0)
    start_ms = int(time.time() * 1000) - 2 * 86_400_000
    buffer = Buffer(cfg.buffer.path, synchronous="normal")
    for step in range(0, SAMPLES, 500):  # what two days offline left behind
        buffer.append([Reading(device=d.id, ts=start_ms + s * 1000,
                               values=SIGNALS[d.profile](d.id, d.seed, start_ms + s * 1000))
                       for s in range(step, step + 500) for d in cfg.devices],
                      {d.id: str(step + 500) for d in cfg.devices})
    assert buffer.depth() == DEVICES * SAMPLES
    buffer.close()

    spine.broker.stop()
    gateway = spine.start_gateway(cfg)  # the devices are done: it only has its backlog
    time.sleep(2)  # it tries the broker and keeps everything
    assert gateway.proc.poll() is None, gateway.log_tail()
    spine.broker.start()
    spine.start_ingest()
    assert gateway.wait(240) == 0, gateway.log_tail()  # exits once the broker has every reading
    assert spine.wait_for_count(DEVICES * SAMPLES, timeout_s=60) == DEVICES * SAMPLES
    per_device = {s.tags["device"]: s.rows[0]["count"] for s in spine.influx.query(
        spine.database, 'SELECT count("quality") FROM "telemetry" GROUP BY "device"')}
    assert per_device == {d.id: SAMPLES for d in cfg.devices}
    assert Buffer(cfg.buffer.path).depth() == 0
