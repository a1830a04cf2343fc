"""``iotgw demo`` as a new user runs it (shorter): the table is printed and the dashboard answers."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

pytestmark = pytest.mark.integration


def _read_lines(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)  # end of output


def test_demo_prints_readings_and_indicators_and_serves_the_dashboard(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "iotgw", "demo", "--history-days", "2", "--duration", "6",
         "--serve-for", "20", "--workdir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    lines: list[str] = []
    url = ""
    received: queue.Queue[str | None] = queue.Queue()  # read in a thread: the deadline holds
    threading.Thread(target=_read_lines, args=(proc.stdout, received), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                line = received.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                pytest.fail("no dashboard line in time:\n" + "".join(lines))
            lines.append(line)
            if match := re.search(r"dashboard (http://\S+)\?province=82$", line):
                url = match[1]  # the token is printed apart, never in an address
            if url and (match := re.search(r"^token +(\S+)$", line)):
                token = match[1]
                assert httpx.get(url, timeout=10).status_code == 200
                values = httpx.get(f"{url}v1/indicators/active_iot_devices/values?province=82&period=day",
                                   headers={"Authorization": f"Bearer {token}"}, timeout=10)
                # Today, the day of the printed table: every device of the scenario. (The first
                # day holds only the history's first hours, which a gateway's outage may cover.)
                assert values.json()["values"][-1]["value"] == 49
                break
        output = "".join(lines)
        generated = int(re.search(r"history readings generated\s+│\s+(\d+)", output)[1])
        acked = int(re.search(r"readings acknowledged by the broker\s+│\s+(\d+)", output)[1])
        stored = int(re.search(r"readings stored in InfluxDB: (\d+)", output)[1])
        assert 2 * 96 * 49 * 0.9 < generated <= 2 * 96 * 49  # 2 days, every 15 min, 49 devices
        assert stored > 0.99 * generated and acked >= generated  # 1970 clocks and duplicates aside
        books = re.search(r"ledger: readings acknowledged (\d+) = stored (\d+) \+ kept apart as bad (\d+)"
                          r" \+ dead-lettered (\d+) \+ merged duplicates (-?\d+)", output)
        assert books, output
        ledger_acked, ledger_stored, bad, dead, merged = map(int, books.groups())
        assert ledger_acked == acked and ledger_stored >= stored  # the ledger counts after the line above
        assert acked == ledger_stored + bad + dead + merged and merged >= 0
        assert re.search(r"Số thiết bị IoT đang hoạt động\s+│\s+49\.0 devices", output), output
        assert re.search(r"Số phường đô thị thông minh.*│\s+100\.0 %\s+│\s+4 / 4", output), output
        assert proc.wait(90) == 0  # it stops its services by itself after --serve-for
    finally:
        if proc.poll() is None:
            proc.terminate()  # handled like Ctrl-C: services are stopped
            proc.wait(60)
