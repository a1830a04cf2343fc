"""A serial line on one machine, for the Modbus RTU tests: two pseudo-terminals joined by
socat (Debian's), one end for the simulated device, the other for the gateway, as a USB
RS-485 adapter would be. Modules use it with ``pty_pair = serial_line.pty_pair``."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The two ends' paths, in ``tmp_path``, once socat has made both (deadline 10 s)."""
    a, b = str(tmp_path / "ttyA"), str(tmp_path / "ttyB")
    socat = subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not (Path(a).exists() and Path(b).exists()):
        assert socat.poll() is None, socat.stderr.read() if socat.stderr else ""
        assert time.monotonic() < deadline, "socat made no pseudo-terminals"
        time.sleep(0.05)
    yield a, b
    socat.terminate()
    socat.wait(10)
