"""No reading leaves with a 1970 time: readings taken before the clock is trusted are held
and timed from the monotonic clock once it is."""

from __future__ import annotations

import json
import time
from pathlib import Path

from iotgw.devices import Quality, Reading
from iotgw.gateway import GatewayConfig
from iotgw.gateway.buffer import Buffer, Limits
from iotgw.gateway.clock import FLOOR_MS, ClockWatch, kernel_synchronised
from iotgw.gateway.config import BufferConfig, ClockConfig, DeviceConfig
from iotgw.gateway.service import Agent
from iotgw.simulators import SimulatedSource

REAL = 1_790_000_000.0  # 2026-09-21, seconds
REAL_MS = int(REAL * 1000)


def test_trust_needs_a_time_after_the_floor_and_with_require_sync_the_kernel_s_word() -> None:
    synced: list[bool | None] = [False]
    watch = ClockWatch(require_sync=True, wall=lambda: 60.0, synchronised=lambda: synced[0])
    assert not watch.sample().trusted  # 1970
    watch = ClockWatch(require_sync=True, wall=lambda: REAL, synchronised=lambda: synced[0])
    assert not watch.sample().trusted  # the kernel says NTP has not synchronised it
    synced[0] = None
    assert watch.sample().trusted  # the kernel cannot tell: the floor only
    assert ClockWatch(require_sync=False, wall=lambda: REAL, synchronised=lambda: False).sample().trusted
    assert kernel_synchronised() in (True, False, None)  # the real call does not fail
    assert FLOOR_MS == 1_735_689_600_000


def _reading(device: str, ts: int) -> Reading:
    return Reading(device=device, ts=ts, values={"soil_moisture": 30.0})


def test_held_readings_of_this_boot_are_timed_and_others_flagged_bad(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite")
    buffer.hold_untimed([_reading("a", 5_000)], {"a": "1"}, boot="boot-1", mono_ms=1_000)
    buffer.hold_untimed([_reading("a", 6_000)], {"a": "2"}, boot="boot-2", mono_ms=2_000)
    buffer.hold_untimed([_reading("a", 7_000)], {"a": "3"}, boot="boot-2", mono_ms=3_000)
    assert (buffer.untimed(), buffer.depth(), buffer.checkpoints()) == (3, 0, {"a": "3"})
    size = buffer.bytes
    assert size > 0
    corrected, lost = buffer.release_untimed(boot="boot-2", offset_ms=REAL_MS, now_ms=REAL_MS + 9_000)
    assert (corrected, lost, buffer.untimed(), buffer.depth()) == (2, 1, 0, 3)
    pending = buffer.take(after_id=0, max_readings=10, max_bytes=100_000, skip=set())
    got = [Reading.model_validate(r) for r in json.loads(f"[{pending.body}]")]
    assert [(r.ts, r.quality) for r in got] == [
        (REAL_MS + 9_000, Quality.BAD),          # boot-1: its monotonic time means nothing now
        (REAL_MS + 2_000, Quality.UNCERTAIN),    # mono 2 s + the offset
        (REAL_MS + 3_000, Quality.UNCERTAIN)]
    assert buffer.counters()["clock_corrected"] == 2 and buffer.counters()["clock_uncorrectable"] == 1


def test_held_readings_count_against_the_byte_cap(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.sqlite", limits=Limits(max_bytes=4_096))
    held = refused = 0
    for i in range(100):
        done = buffer.hold_untimed([_reading("a", i + 1)], {}, boot="b", mono_ms=i)
        held, refused = held + done.stored, refused + done.refused
    assert held + refused == 100 and refused > 0 and buffer.counters()["refused"] == refused
    assert buffer.bytes <= 4_096



def test_an_agent_booted_in_1970_holds_readings_then_times_them(tmp_path: Path) -> None:
    wall = [100.0]  # a Raspberry Pi without a real-time clock, before NTP
    config = GatewayConfig(gateway_id="gw-1", buffer=BufferConfig(path=tmp_path / "b.sqlite"),
                           clock=ClockConfig(require_sync=False),
                           devices=[DeviceConfig(id="d1", driver="simulated", profile="soil_probe",
                                                 interval_s=0.01)])
    sources = [SimulatedSource(d) for d in config.devices]
    agent = Agent(config, sources, clock=lambda: wall[0],
                  clock_watch=ClockWatch(require_sync=False, wall=lambda: wall[0]))
    for _ in range(5):
        time.sleep(0.02)
        agent._poll_due()
    assert agent.buffer.depth() == 0 and agent.buffer.untimed() == 5  # nothing can be sent
    wall[0] = REAL  # NTP has set the clock
    time.sleep(0.02)
    agent._poll_due()
    assert agent.buffer.untimed() == 0 and agent.buffer.depth() == 6
    pending = agent.buffer.take(after_id=0, max_readings=10, max_bytes=100_000, skip=set())
    times = [r["ts"] for r in json.loads(f"[{pending.body}]")]
    # The 5 held readings were taken in the ~0.1 s before the clock was set: their times,
    # from the monotonic clock, fall just before REAL; none is anywhere near 1970.
    assert all(REAL_MS - 1_000 < t < REAL_MS + 1_000 for t in times), times
    assert times == sorted(times) and len(set(times)) == 6
    agent.buffer.close()
