"""``iotgw ingest run --workers N``: N ingest processes on one shared subscription.

Each worker has a stable client id (``<client_id>-<n>``): the broker keeps a worker's
session, with its unacknowledged messages and its share of new ones, until that same id
reconnects, so a worker that dies must come back under the same id. The supervisor
restarts it (1 s doubling to 30 s while it keeps failing fast) and, on SIGTERM or SIGINT,
stops every worker and waits for them. systemd or compose can do the same job with one
unit or replica per worker; this is for one host without them.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

_STABLE_AFTER_S = 30.0  # a worker that ran this long resets the restart backoff


class Supervisor:
    def __init__(self, config: Path, workers: int) -> None:
        self._config = config
        self._workers = workers
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._started: dict[int, float] = {}
        self._delay_s: dict[int, float] = {}

    def _spawn(self, index: int) -> None:
        self._procs[index] = subprocess.Popen(
            [sys.executable, "-P", "-m", "iotgw", "ingest", "run", "--config", str(self._config),
             "--worker-index", str(index)])
        self._started[index] = time.monotonic()
        log.info("ingest worker %d started (pid %d)", index, self._procs[index].pid)

    def run(self, stop: threading.Event) -> None:
        for index in range(1, self._workers + 1):
            self._delay_s[index] = 1.0
            self._spawn(index)
        restart_at: dict[int, float] = {}
        while not stop.wait(0.2):
            now = time.monotonic()
            for index, proc in self._procs.items():
                if index in restart_at:
                    if now >= restart_at[index]:
                        del restart_at[index]
                        self._spawn(index)
                    continue
                if proc.poll() is None:
                    continue
                if now - self._started[index] >= _STABLE_AFTER_S:
                    self._delay_s[index] = 1.0
                log.warning("ingest worker %d exited with %s; restarting in %.0fs",
                            index, proc.returncode, self._delay_s[index])
                restart_at[index] = now + self._delay_s[index]
                self._delay_s[index] = min(30.0, self._delay_s[index] * 2)
        self._stop_all()

    def _stop_all(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for index, proc in self._procs.items():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                log.error("ingest worker %d did not stop in 30s; killing it", index)
                proc.kill()
