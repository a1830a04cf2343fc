"""The gateway's wall clock jumps while it reads: back an hour (a bad NTP step), then to
1970 (a reset without a real-time clock), then back to the right time. Every reading is
stored once: through the backward jump each device's timestamps still increase, and the
readings taken in 1970 are held, then timed from the monotonic clock (quality
``uncertain``) once the clock is right again."""

from __future__ import annotations

import threading
import time

import pytest
from iotgw.gateway import Agent, build_sources
from iotgw.simulators import SIGNALS, SimulatedSource

from tests.e2e.spine import Spine
from tests.faults import ledger
from tests.faults.ledger import Tally

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DEVICES, SAMPLES, INTERVAL_S = 10, 80, 0.05


def test_clock_jumps_back_and_to_1970_lose_nothing(spine: Spine) -> None:
    spine.start_ingest()
    [cfg] = spine.fleet(1, DEVICES, SAMPLES, INTERVAL_S)
    offset = {"s": 0.0}
    agents: list[Agent] = []

    def run() -> None:  # the agent's buffer belongs to the thread that uses it
        agents.append(Agent(cfg, build_sources(cfg.devices, {"simulated": SimulatedSource}),
                            clock=lambda: time.time() + offset["s"]))
        agents[0].run(threading.Event(), exit_when_drained=True)

    thread = threading.Thread(target=run)
    thread.start()
    spine.wait_until(lambda: bool(agents) and agents[0].stats.read >= 150, timeout_s=30, what="readings")
    offset["s"] = -3600.0  # back an hour
    time.sleep(1.0)
    offset["s"] = 1_000.0 - time.time()  # 1970
    time.sleep(1.0)
    offset["s"] = 0.0
    thread.join(90)
    assert not thread.is_alive()

    sent = DEVICES * SAMPLES
    spine.wait_for_count(sent)
    time.sleep(1.0)
    stored = spine.stored()
    lost = duplicated = wrong = uncertain = 0
    for device in cfg.devices:
        rows = stored[device.id]
        lost += max(0, SAMPLES - len(rows))
        duplicated += max(0, len(rows) - SAMPLES)
        times = [r["time"] for r in rows]
        assert min(times) > 1_735_689_600_000, "nothing stamped before 2025"
        for row in rows:
            if row["quality"] == "uncertain":  # timed from the monotonic clock
                uncertain += 1
            elif {k: row[k] for k in SIGNALS[device.profile](device.id, device.seed, row["time"])} != \
                    SIGNALS[device.profile](device.id, device.seed, row["time"]):
                wrong += 1
    assert uncertain > 0, "the 1970 phase held and re-timed readings"
    ledger.none_lost(f"gateway clock jumps back 1 h, then to 1970 ({uncertain} re-timed, uncertain)",
                     Tally(sent, spine.count(), lost, duplicated, wrong))
