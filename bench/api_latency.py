"""API latency at 50 concurrent clients: p50/p95 of the coverage and indicator endpoints,
next to ``/healthz`` (the framework's own floor) measured in the same run.

Set-up: Đồng Nai with 500 devices and a day of readings at one a minute (as in
``rollup_cost.py``), rolled up; the API runs as its own process (``iotgw api run``). The
clients are ``wrk`` (Debian's package: C, one connection per client, closed loop), so that
the load generator does not take the CPU the server needs: 50 asyncio httpx clients in
Python spent more CPU than the server and measured themselves (p95 0.9 s for /healthz).

Usage: python bench/api_latency.py [--seconds 10] [--devices 500]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from harness import bench, options  # a sibling script: bench/ is on sys.path
from iotgw.api import ApiConfig
from iotgw.devices.links import RegistryLink
from iotgw.simulators import write_config
from rollup_cost import DAY, rolled_up_day  # a sibling script: bench/ is on sys.path

from iotgw.processes import IotgwProcess, free_port

CLIENTS = 50
LUA = Path(__file__).with_name("latency.lua")


def measure(url: str, token: str, seconds: int, *, clients: int = CLIENTS,
            timeout_s: int = 2) -> tuple[float, float, int]:
    """p50 and p95 in ms, and the number of requests, of ``clients`` connections for
    ``seconds``; a request slower than ``timeout_s`` (wrk's default 2 s) counts as failed.

    Raises:
        RuntimeError: wrk failed, or some request did not answer 2xx.
    """
    result = subprocess.run(
        ["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--timeout", f"{timeout_s}s",
         "-s", str(LUA), url],
        capture_output=True, text=True, timeout=seconds + timeout_s + 60,
        env={**os.environ, "IOTGW_TOKEN": token})
    found = re.search(r"RESULT p50_us=(\d+) p95_us=(\d+) requests=(\d+) errors=(\d+) non2xx=(\d+)",
                      result.stdout)
    if result.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed: {result.stdout}{result.stderr}")
    p50, p95, requests, errors, non2xx = map(int, found.groups())
    if errors or non2xx:
        raise RuntimeError(f"{url}: {errors} failed and {non2xx} non-2xx of {requests} requests")
    return p50 / 1000, p95 / 1000, requests


def main() -> None:
    args = options(__doc__, seconds=10, devices=500)
    if shutil.which("wrk") is None:  # checked first: the set-up takes a minute
        sys.exit("api_latency: needs wrk, which is not on PATH (Debian: apt-get install wrk;"
                 " `make bench` installs it)")
    with bench("api-bench", influxd=True) as running:
        work = running.work
        url, token, influx = rolled_up_day(running, args.devices)
        port = free_port()
        # The load generator is one token: latency is measured, not the rate limits.
        config = write_config(ApiConfig(port=port, influx=influx, registry=RegistryLink(url=url),
                                        rate_limit="", open_data_rate_limit=""), work / "api.toml")
        base = f"http://127.0.0.1:{port}"
        running.start(IotgwProcess(work, "api", ["api", "run", "--config", str(config)],
                                   ready_url=f"{base}/healthz"))
        paths = {
            "/healthz": "/healthz",
            "coverage (one province-day)": f"/v1/provinces/75/coverage?date={DAY}",
            "indicator values (year)": "/v1/indicators/active_iot_devices/values?province=75"
                                       f"&period=year&from={DAY}&to={DAY}",
        }
        print(f"{CLIENTS} concurrent clients (wrk), {args.seconds} s per endpoint, {args.devices} devices")
        print(f"{'endpoint':32} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p95 / healthz p95':>18}")
        floor = None
        for label, path in paths.items():
            measure(base + path, token, 2)  # warm-up: caches, connections
            p50, p95, requests = measure(base + path, token, args.seconds)
            floor = floor or p95
            print(f"{label:32} {requests:9} {p50:8.1f} {p95:8.1f} {p95 / floor:18.1f}")


if __name__ == "__main__":
    main()
