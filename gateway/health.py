"""The heartbeat's numbers: what an operator needs to see that a gateway is healthy.

Read from the process and the buffer only (no shelling out): uptime, resident memory,
free disk under the buffer, buffer depth, bytes and the age of its oldest reading, what
was read, failed to read, held back by report-on-change and acknowledged, every reading
the buffer's limits dropped or refused, and whether the buffer can be written
(``buffer_readonly``; while it is 1, new readings wait in memory: ``memory_queued`` now,
``memory_held`` in all, ``memory_dropped`` those the full memory queue dropped;
``write_failed`` counts every reading lost for want of a writable buffer). These counters
are kept in the buffer's ``meta`` (once it can be written), so they survive restarts.
Beside the numbers, the status carries the agent's version and, per device, its failed
reads (``ReadErrors``): how many, the last error and when.
"""

from __future__ import annotations

import resource
import shutil
import time
from dataclasses import dataclass
from functools import cache
from importlib import metadata

from iotgw.devices.telemetry import MAX_ERROR_CHARS, MAX_ERROR_DEVICES, DeviceReadErrors
from iotgw.gateway.buffer import Buffer


@cache
def agent_version() -> str:
    """The installed iotgw's version, as the status reports it."""
    try:
        return metadata.version("iotgw")
    except metadata.PackageNotFoundError:  # run from a source tree never installed
        return "unknown"


class ReadErrors:
    """Failed reads per device since the agent started: a count, the last error and its
    time. Bounded: past ``limit`` devices, the one whose last failure is oldest is
    forgotten (its failures stay in the total ``read_errors``)."""

    def __init__(self, limit: int = MAX_ERROR_DEVICES) -> None:
        self._limit = limit
        self._by_device: dict[str, DeviceReadErrors] = {}  # least recently failed first

    def record(self, device_id: str, error: str, ts_ms: int | None) -> None:
        before = self._by_device.pop(device_id, None)
        message = error if len(error) <= MAX_ERROR_CHARS else error[:MAX_ERROR_CHARS - 3] + "..."
        self._by_device[device_id] = DeviceReadErrors(
            count=(before.count if before else 0) + 1, last=message, last_ts=ts_ms)
        if len(self._by_device) > self._limit:
            del self._by_device[next(iter(self._by_device))]

    def snapshot(self) -> dict[str, DeviceReadErrors]:
        return dict(self._by_device)


@dataclass
class Stats:
    """What the agent counted since it started (memory only: the buffer's ``counters()``
    are what survive a restart)."""

    read: int = 0
    read_errors: int = 0  # device reads that failed (see DeviceReadError)
    suppressed: int = 0  # readings not published by report-on-change (configured, counted)
    acked: int = 0
    undelivered: int = 0
    published_batches: int = 0
    # Readings lost this run for want of a writable buffer: dropped from the full memory
    # queue, taken while the clock was untrusted, or left in memory at stop (also in ``meta``).
    write_failed: int = 0


def _disk_free(buffer: Buffer) -> float:
    try:
        return float(shutil.disk_usage(buffer.path.parent).free)
    except OSError:  # the buffer's directory is missing (a read-only filesystem)
        return 0.0


def health(buffer: Buffer, *, started: float, read: int, read_errors: int, suppressed: int,
           acked: int, memory_queued: int, now_ms: int) -> dict[str, float]:
    oldest_ms = buffer.oldest_ts()
    return {
        "uptime_s": round(time.monotonic() - started, 1),
        # ru_maxrss is in KiB on Linux: the peak, which is what a 1 GB gateway must watch.
        "rss_peak_bytes": float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
        "disk_free_bytes": _disk_free(buffer),
        "buffer_depth": float(buffer.depth()),
        "buffer_untimed": float(buffer.untimed()),  # held until the clock is trusted
        "buffer_bytes": float(buffer.bytes),
        "buffer_oldest_age_s": (now_ms - oldest_ms) / 1000 if oldest_ms else 0.0,
        "buffer_readonly": 0.0 if buffer.writable else 1.0,
        "memory_queued": float(memory_queued),  # held in memory: lost on a power cut
        "read": float(read),
        "read_errors": float(read_errors),
        "suppressed": float(suppressed),
        "acked": float(acked),
        **{key: float(value) for key, value in buffer.counters().items()},
    }
