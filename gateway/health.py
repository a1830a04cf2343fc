"""The heartbeat's numbers: what an operator needs to see that a gateway is healthy.

Read from the process and the buffer only (no shelling out): uptime, resident memory,
free disk under the buffer, buffer depth, bytes and the age of its oldest reading, what
was read, failed to read, held back by report-on-change and acknowledged, and every
reading the buffer's limits dropped or refused.
"""

from __future__ import annotations

import resource
import shutil
import time

from gateway.buffer import Buffer


def health(buffer: Buffer, *, started: float, read: int, read_errors: int, suppressed: int,
           acked: int, write_failed: int, now_ms: int) -> dict[str, float]:
    oldest_ms = buffer.oldest_ts()
    return {
        "uptime_s": round(time.monotonic() - started, 1),
        # ru_maxrss is in KiB on Linux: the peak, which is what a 1 GB gateway must watch.
        "rss_peak_bytes": float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
        "disk_free_bytes": float(shutil.disk_usage(buffer.path.parent).free),
        "buffer_depth": float(buffer.depth()),
        "buffer_untimed": float(buffer.untimed()),  # held until the clock is trusted
        "buffer_bytes": float(buffer.bytes),
        "buffer_oldest_age_s": (now_ms - oldest_ms) / 1000 if oldest_ms else 0.0,
        "read": float(read),
        "read_errors": float(read_errors),
        "suppressed": float(suppressed),
        "acked": float(acked),
        "write_failed": float(write_failed),  # lost: the buffer could not be written
        **{key: float(value) for key, value in buffer.counters().items()},
    }
