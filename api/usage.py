"""Every authenticated request counts as platform use by its organisation (the
platform-usage indicators read ``platform_use``). Counted in memory and written once a
second by a thread, so a request never waits for InfluxDB; if InfluxDB is down the counts
are kept and written later (held in memory: a restart of the API loses at most those).

Written to the raw retention policy, like every other raw point: the rollup keeps a daily
sum per organisation for good (``rollup.platform_use``), so the raw points may expire."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from iotgw.tsdb import InfluxClient, Point, TsdbError, encode_point
from iotgw.tsdb.schema import PLATFORM_USE, RAW_RP

log = logging.getLogger(__name__)


class UsageLog:
    def __init__(self, influx: InfluxClient, database: str, flush_s: float) -> None:
        self.influx, self.database, self.flush_s = influx, database, flush_s
        self._counts: Counter[tuple[str, str]] = Counter()  # (organisation, token) -> requests
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-usage", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def record(self, organisation: str | None, token_id: str) -> None:
        with self._lock:
            self._counts[organisation or "none", token_id] += 1

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return
        now_ms = int(time.time() * 1000)
        lines = "\n".join(encode_point(Point(PLATFORM_USE, {"requests": n}, now_ms,
                                              {"organisation": org, "token": token}))
                          for (org, token), n in counts.items())
        try:
            self.influx.write_lines(self.database, lines, retention_policy=RAW_RP)
        except TsdbError as exc:
            log.warning("platform use not written yet, kept: %s", exc)
            with self._lock:
                self._counts.update(counts)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            self.flush()
