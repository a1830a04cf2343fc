"""API latency at 50 concurrent clients: p50/p95 of the coverage and indicator endpoints,
next to ``/healthz`` (the framework's own floor) measured in the same run.

Set-up: Đồng Nai with 500 devices and a day of readings at one a minute (as in
``rollup_cost.py``), rolled up; the API runs as its own process (``iotgw api run``), the
clients are asyncio httpx in this one.

Usage: python bench/api_latency.py [--requests 1000] [--devices 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from rollup_cost import DAY, register, write_day  # a sibling script: bench/ is on sys.path

from api import ApiConfig
from api.auth import create_token
from iotgw.localstack import Influxd, IotgwProcess, free_port
from registry import ApiRole, make_engine, session_factory
from rollup.config import RollupConfig
from rollup.service import RollupService
from simulators import write_config
from tsdb import InfluxClient
from tsdb.config import InfluxConfig

CLIENTS = 50


async def measure(url: str, path: str, token: str, requests: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[None] = asyncio.Queue()
    for _ in range(requests):
        queue.put_nowait(None)
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                start = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - start)
                response.raise_for_status()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iotgw-api-bench-"))
    influxd = Influxd(work / "influxd")
    influxd.start()
    api = None
    try:
        url = f"sqlite:///{work / 'registry.sqlite'}"
        register(url, args.devices)
        with session_factory(make_engine(url))() as session, session.begin():
            token = create_token(session, "bench", ApiRole.MINISTRY)
        write_day(InfluxClient(influxd.url, timeout_s=300), "bench", args.devices)
        influx = InfluxConfig(url=influxd.url, database="bench", timeout_s=300)
        rollup = RollupService(RollupConfig(influx=influx, registry_url=url))
        rollup.prepare()
        rollup.backfill(DAY, DAY)
        port = free_port()
        config = write_config(ApiConfig(port=port, influx=influx, registry_url=url), work / "api.toml")
        base = f"http://127.0.0.1:{port}"
        api = IotgwProcess(work, "api", ["api", "run", "--config", str(config)],
                           ready_url=f"{base}/healthz")
        api.start()
        paths = {
            "/healthz": "/healthz",
            "coverage (one province-day)": f"/v1/provinces/75/coverage?date={DAY}",
            "indicator values (year)": "/v1/indicators/active_iot_devices/values?province=75"
                                       f"&period=year&from={DAY}&to={DAY}",
        }
        print(f"{CLIENTS} concurrent clients, {args.requests} requests each, {args.devices} devices")
        print(f"{'endpoint':32} {'p50 ms':>8} {'p95 ms':>8} {'p95 / healthz p95':>18}")
        floor = None
        for label, path in paths.items():
            asyncio.run(measure(base, path, token, CLIENTS))  # warm-up
            got = sorted(asyncio.run(measure(base, path, token, args.requests)))
            p50, p95 = statistics.median(got) * 1000, got[int(0.95 * len(got)) - 1] * 1000
            floor = floor or p95
            print(f"{label:32} {p50:8.1f} {p95:8.1f} {p95 / floor:18.1f}")
    finally:
        if api is not None:
            api.stop()
        influxd.stop()


if __name__ == "__main__":
    main()
