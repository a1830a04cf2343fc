"""``iotgw demo`` as a new user runs it (shorter): the table is printed and the dashboard answers."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_demo_prints_readings_and_indicators_and_serves_the_dashboard(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "iotgw", "demo", "--duration", "6", "--gateways", "1", "--devices", "3",
         "--serve-for", "20", "--workdir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if match := re.search(r"dashboard (http://\S+)\?token=(\S+)&province=82", line):
                url, token = match.groups()
                assert httpx.get(url, timeout=10).status_code == 200
                values = httpx.get(f"{url}v1/indicators/active_iot_devices/values?province=82&period=day",
                                   headers={"Authorization": f"Bearer {token}"}, timeout=10)
                assert values.json()["values"][0]["value"] == 3
                break
        else:
            pytest.fail("no dashboard line in time:\n" + "".join(lines))
        output = "".join(lines)
        assert re.search(r"total\s+│\s+3\s+│\s+[1-9]\d*", output), output  # readings stored
        assert re.search(r"Số thiết bị IoT đang hoạt động\s+│\s+3\.0 devices", output), output
        proc.stdout.read()
        assert proc.wait(90) == 0  # it stops its services by itself after --serve-for
    finally:
        if proc.poll() is None:
            proc.terminate()  # handled like Ctrl-C: services are stopped
            proc.wait(60)
