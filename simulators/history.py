"""Compressed time: weeks of backdated readings, generated in minutes into the gateways'
real buffers, which the real agents then publish through the broker (as replay batches,
like a gateway that was offline for weeks), so rollups and reports have history to show.

The readings are those the devices would have sent (same signal models, same faults,
one reading per ``interval_s`` at a per-device offset), so a scenario's history and its
live fleet join without a seam. Gateways lose power on some days (``offline_windows``):
nothing is read then, which is what the availability indicator measures.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from iotgw.devices import Reading
from iotgw.gateway.buffer import Buffer, Limits
from iotgw.gateway.config import GatewayConfig
from iotgw.simulators.scenario import GatewayFaults
from iotgw.simulators.source import SimulatedSource

DAY_MS = 86_400_000
_HOUR_MS = 3_600_000

Window = tuple[int, int]  # [start, end) in epoch ms


def offline_windows(gateway_id: str, seed: int, faults: GatewayFaults, start_ms: int,
                    end_ms: int) -> list[Window]:
    """The days on which the gateway was off, and for how long: the same for every run
    with the same seed, so history and the live phase agree on them."""
    windows = []
    for day in range(start_ms // DAY_MS, end_ms // DAY_MS + 1):
        rng = random.Random(f"offline:{seed}:{gateway_id}:{day}")
        if rng.random() >= faults.offline_per_day:
            continue
        length = int(faults.offline_hours * _HOUR_MS)
        begin = day * DAY_MS + int(rng.uniform(0, DAY_MS - length))
        if begin < end_ms and begin + length > start_ms:
            windows.append((max(begin, start_ms), min(begin + length, end_ms)))
    return windows


def _offline(ts: int, windows: list[Window]) -> bool:
    return any(start <= ts < end for start, end in windows)


def backfill(
    config: GatewayConfig, *, start_ms: int, end_ms: int, interval_s: float, windows: list[Window],
    now_ms: int, on_progress: Callable[[int], None] = lambda _: None,
) -> Counter[str]:
    """Append the gateway's readings from ``start_ms`` to ``end_ms`` to its buffer, one
    group commit per simulated hour. Returns what happened: ``read``, ``offline``
    (readings not taken while the gateway was off), the devices' faults and the buffer's
    drops. ``on_progress`` gets the simulated milliseconds done since the last call."""
    step = int(interval_s * 1000)
    sources = [SimulatedSource(d) for d in config.devices]
    offsets = [random.Random(f"offset:{d.seed}:{d.id}").randrange(step) for d in config.devices]
    counts: Counter[str] = Counter()
    limits = config.buffer
    buffer = Buffer(limits.path, synchronous="normal", limits=Limits(
        max_bytes=limits.max_bytes, max_age_s=limits.max_age_s, when_full=limits.when_full))
    try:
        for hour in range(start_ms, end_ms, _HOUR_MS):
            readings: list[Reading] = []
            for slot in range(hour, min(hour + _HOUR_MS, end_ms), step):
                for source, offset in zip(sources, offsets, strict=True):
                    ts = slot + offset
                    if _offline(ts, windows):
                        counts["offline"] += 1
                        continue
                    readings.extend(source.read(ts))
            done = buffer.append(readings, {}, now_ms=now_ms)
            counts["read"] += len(readings)
            counts["dropped_age"] += done.dropped_age
            counts["dropped_full"] += done.dropped_full
            counts["refused"] += done.refused
            on_progress(min(_HOUR_MS, end_ms - hour))
    finally:
        buffer.close()
    for source in sources:
        counts.update(source.faulted)
    return counts
