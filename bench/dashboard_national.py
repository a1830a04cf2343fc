"""The dashboard's national page at 10 concurrent users: p50/p95 of one page's data calls
(the catalogue, the map's provinces and communes, and every indicator across the 34
provinces), with the API's view cache off and on, next to a baseline page of as many
``/healthz`` calls measured in the same run.

Set-up: Đồng Nai with a day of readings of ``--devices`` devices (as in ``rollup_cost.py``),
rolled up; two API processes (``iotgw api run``) on the same registry and InfluxDB, one
with ``cache_s = 0`` (every view computed for every request) and one with the default
cache. A user is a thread that loads the page again and again for ``--seconds``; like a
browser, it makes a page's calls six at a time on kept-alive connections (httpx). A page's
latency is from its first call to its last answer; every answer must be 200.

Usage: python bench/dashboard_national.py [--seconds 20] [--devices 200] [--users 10]
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from harness import Bench, bench, options  # a sibling script: bench/ is on sys.path
from iotgw.api import ApiConfig
from iotgw.devices.links import RegistryLink
from iotgw.rollup.catalogue import load_catalogue
from iotgw.simulators import write_config
from iotgw.tsdb.config import InfluxConfig
from rollup_cost import DAY, rolled_up_day  # a sibling script: bench/ is on sys.path

from iotgw.processes import IotgwProcess, free_port

PARALLEL_PER_PAGE = 6  # a browser's connections per host


def national_page() -> list[str]:
    """The calls ``api/static/app.js`` makes for the national page (period year, DAY)."""
    calls = ["/v1/indicators", "/v1/map/provinces", "/v1/map/communes"]
    return calls + [f"/v1/indicators/{i.id}/provinces?period=year&from={DAY}"
                    for i in load_catalogue().indicators if "province" in i.breakdowns]


def load_pages(base: str, token: str, paths: list[str], users: int, seconds: float) -> list[float]:
    """Page latencies (ms) of ``users`` threads loading the page for ``seconds``.

    Raises:
        RuntimeError: some call did not answer 200.
    """
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def user() -> None:
        limits = httpx.Limits(max_connections=PARALLEL_PER_PAGE)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                          timeout=120) as client, ThreadPoolExecutor(PARALLEL_PER_PAGE) as pool:
            while time.monotonic() < stop:
                started = time.perf_counter()
                statuses = list(pool.map(lambda path: (path, client.get(path).status_code), paths))
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    failures.extend(f"{path}: {status}" for path, status in statuses if status != 200)

    threads = [threading.Thread(target=user) for _ in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} calls failed, e.g. {failures[:3]}")
    return latencies


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def start_api(running: Bench, work: Path, name: str, influx: InfluxConfig, url: str, cache_s: float) -> str:
    port = free_port()
    # One token for every user: the page's latency is measured, not the rate limits.
    config = write_config(ApiConfig(port=port, influx=influx, registry=RegistryLink(url=url), cache_s=cache_s,
                                    rate_limit="", open_data_rate_limit=""), work / f"{name}.toml")
    base = f"http://127.0.0.1:{port}"
    running.start(IotgwProcess(work, f"api-{name}", ["api", "run", "--config", str(config)],
                               ready_url=f"{base}/healthz"))
    return base


def main() -> None:
    args = options(__doc__, seconds=20, devices=200, users=10)
    with bench("dashboard-bench", influxd=True) as running:
        work = running.work
        url, token, influx = rolled_up_day(running, args.devices)
        uncached = start_api(running, work, "uncached", influx, url, cache_s=0)
        cached = start_api(running, work, "cached", influx, url, cache_s=3600)
        page = national_page()
        runs = {"baseline (/healthz x calls)": (uncached, ["/healthz"] * len(page)),
                "national page, uncached": (uncached, page),
                "national page, cached": (cached, page)}
        print(f"{args.users} concurrent users, {args.seconds} s each, {len(page)} calls per page "
              f"({PARALLEL_PER_PAGE} at a time), {args.devices} devices, 34 provinces")
        print(f"{'page':30} {'pages':>6} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline p95':>19}")
        floor = None
        for label, (base, paths) in runs.items():
            load_pages(base, token, paths, args.users, 2)  # warm-up: connections, caches, imports
            latencies = load_pages(base, token, paths, args.users, args.seconds)
            floor = floor or p95(latencies)
            print(f"{label:30} {len(latencies):6} {statistics.median(latencies):8.1f} "
                  f"{p95(latencies):8.1f} {p95(latencies) / floor:19.1f}")


if __name__ == "__main__":
    main()
