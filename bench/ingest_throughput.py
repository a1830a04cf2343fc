"""Ingest readings/s end to end (published -> stored and acknowledged), against the raw
InfluxDB /write ceiling for the same points, both measured in this run on this machine.

Cases: 50 readings per message and 1 reading per message, with 1 and 2 workers (a shared
subscription). Messages are v1 batches asking for a stored acknowledgement (``"ack":
true``, as gateways send them), built beforehand and published at QoS 1 by several
publisher processes at once (``harness.Publishers``), so the figure is ingest's (and the
broker's and InfluxDB's), not a gateway's. What the publishers emit alone, with nobody
subscribed, is measured in the same round and printed beside each case: a case close to
it is bounded by the publishers, not by ingest. The clock stops when ingest's own metrics
say every message is acknowledged, which it does only after the write.

The raw ceiling is the same lines (50 readings/message's) written straight to ``/write``,
5,000 per request, one request at a time (``InfluxClient.write_lines``), before and after
each round's cases: their mean is the round's ceiling. Every figure is a ratio to the
ceiling of its own round, so that rounds on a busy machine compare; ``--rounds`` repeats
the whole and prints each ratio's median and spread.

Beside each rate, the CPU µs per reading of ingest (its workers), the broker and influxd
(for the ceiling: this client and influxd), from /proc. On a machine shared with other
work, wall-time rates follow the CPU share the processes get, and "ceiling CPU / this"
is the ratio that share does not move: the rate ratio a saturated machine would give.

Usage: python bench/ingest_throughput.py [--readings 300000] [--single 50000]
           [--publishers 2] [--rounds 1] [--profile]
  --single   messages (readings) of the 1-reading-per-message cases
  --profile  also records one worker (50 per message) with py-spy (samples holding the
             GIL) and prints where its time goes (py-spy must be installed in the venv).
"""

from __future__ import annotations

import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from harness import Publishers, bench, cpu_seconds, options  # a sibling script: bench/ is on sys.path
from iotgw.devices import Reading, TelemetryBatch, telemetry_topic
from iotgw.ingest import IngestConfig, decode_message
from iotgw.ingest.config import BatchConfig, InfluxConfig, MetricsConfig, MqttConfig
from iotgw.ingest.consumer import SUBSCRIBED, retire_session
from iotgw.simulators import SIGNALS, write_config
from iotgw.tsdb import InfluxClient

from iotgw.processes import Influxd, IotgwProcess, Mosquitto, free_port

GATEWAYS = 20
START_MS = int(time.time() * 1000) - 3_600_000
Messages = list[tuple[str, bytes]]


def build_messages(readings: int, per_message: int) -> Messages:
    """``readings`` soil-probe readings from 20 gateways of 10 devices, in messages."""
    out = []
    per_gateway = readings // GATEWAYS
    for g in range(GATEWAYS):
        gateway = f"bench-gw-{g:02d}"
        rows = [Reading(device=f"{gateway}-d{n % 10}", ts=START_MS + n,
                        values=SIGNALS["soil_probe"](f"d{n % 10}", g, START_MS + n))
                for n in range(per_gateway)]
        for seq, i in enumerate(range(0, len(rows), per_message)):
            batch = TelemetryBatch(gateway=gateway, seq=seq, ack=True, readings=rows[i:i + per_message])
            out.append((telemetry_topic(gateway), batch.model_dump_json().encode()))
    return out


@dataclass(frozen=True)
class Measured:
    """Readings/s, and CPU µs per reading of each process that did the work."""

    rate: float
    cpu_us: dict[str, float]

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu_us.values())

    def cpu_text(self) -> str:
        return " + ".join(f"{v:.1f}" for v in self.cpu_us.values()) + f" = {self.cpu_total:.1f}"


def ceiling(influx: InfluxClient, influxd: Influxd, database: str, messages: Messages) -> Measured:
    lines = [line for topic, payload in messages for line in decode_message(topic, payload).lines]
    influx.create_database(database)
    assert influxd.proc is not None
    cpu = time.process_time(), cpu_seconds(influxd.proc.pid)
    start = time.perf_counter()
    for i in range(0, len(lines), 5_000):
        influx.write_lines(database, "\n".join(lines[i:i + 5_000]))
    elapsed = time.perf_counter() - start
    per = 1e6 / len(lines)
    return Measured(len(lines) / elapsed, {"client": (time.process_time() - cpu[0]) * per,
                                           "influxd": (cpu_seconds(influxd.proc.pid) - cpu[1]) * per})


def acknowledged(metrics_ports: list[int]) -> int:
    total = 0
    for port in metrics_ports:
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        except httpx.HTTPError:
            continue
        match = re.search(r"^iotgw_ingest_acknowledged_messages_total (\S+)$", text, re.M)
        total += int(float(match.group(1))) if match else 0
    return total


@contextmanager
def ingest_running(work: Path, broker: Mosquitto, influxd: Influxd, name: str,
                   workers: int) -> Iterator[tuple[IotgwProcess, list[int]]]:
    """Ingest with ``workers`` workers, each subscribed: the process and its metrics ports.
    Its sessions are retired when it stops, or the broker would keep queueing every later
    message for them."""
    port = free_port()
    cfg = IngestConfig(
        mqtt=MqttConfig(port=broker.port, client_id=name, share_group=name),
        influx=InfluxConfig(url=influxd.url, database=name), batch=BatchConfig(max_lines=5_000),
        metrics=MetricsConfig(port=port), dead_letter_path=work / f"{name}.sqlite")
    path = write_config(cfg, work / f"{name}.toml")
    ingest = IotgwProcess(work, name, ["ingest", "run", "--config", str(path),
                                       "--workers", str(workers)], ready_line=SUBSCRIBED)
    ingest.start()
    deadline = time.monotonic() + 60
    while ingest.log_path.read_bytes().count(SUBSCRIBED.encode()) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: not every worker subscribed: {ingest.log_tail()}")
        time.sleep(0.05)
    try:
        yield ingest, [port + i for i in range(workers)]
    finally:
        ingest.stop()
        for n in range(1, workers + 1):
            retire_session(cfg.mqtt.model_copy(update={"client_id": f"{name}-{n}" if workers > 1 else name}))


def run_case(work: Path, broker: Mosquitto, influxd: Influxd, messages: Messages, readings: int,
             *, workers: int, publishers: int, name: str) -> Measured:
    """Readings/s from the first publish until ingest acknowledged every message, and the
    CPU that ingest (its workers), the broker and influxd spent meanwhile."""
    sending = Publishers(broker.port, messages, processes=publishers)
    with ingest_running(work, broker, influxd, name, workers) as (ingest, ports):
        assert ingest.proc and broker.proc and influxd.proc
        pids = {"ingest": ingest.proc.pid, "broker": broker.proc.pid, "influxd": influxd.proc.pid}
        cpu = {part: cpu_seconds(pid) for part, pid in pids.items()}
        start = time.perf_counter()
        sending.run()
        deadline = time.monotonic() + 600
        while acknowledged(ports) < len(messages):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: not every message acknowledged in 600 s")
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        return Measured(readings / elapsed, {part: (cpu_seconds(pid) - cpu[part]) * 1e6 / readings
                                             for part, pid in pids.items()})


def profile_worker(work: Path, broker: Mosquitto, influxd: Influxd, messages: Messages,
                   publishers: int) -> str:
    """py-spy's top functions (own time, every thread) of one worker ingesting ``messages``."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return f"py-spy not found beside {sys.executable}: pip install py-spy"
    sending = Publishers(broker.port, messages, processes=publishers)
    out = work / "ingest.collapsed"
    with ingest_running(work, broker, influxd, "prof", 1) as (ingest, ports):
        assert ingest.proc is not None
        record = subprocess.Popen([str(spy), "record", "--pid", str(ingest.proc.pid), "--format", "raw",
                                   "--output", str(out), "--rate", "250", "--threads", "--gil"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        sending.run()
        deadline = time.monotonic() + 600
        while acknowledged(ports) < len(messages) and time.monotonic() < deadline:
            time.sleep(0.05)
        record.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        record.wait(60)
    return _top_frames(out)


def _top_frames(raw: Path, top: int = 25) -> str:
    """Own samples per function (and per thread) from py-spy's raw (collapsed) output."""
    own: dict[str, int] = {}
    threads: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        leaf = re.sub(r" \(/.*/(site-packages|main)/(.*):\d+\)$", r" (\2)", frames[-1])  # per function
        own[leaf] = own.get(leaf, 0) + int(count)
        threads[frames[0]] = threads.get(frames[0], 0) + int(count)
        total += int(count)
    rows = [f"{100 * n / total:5.1f}%  {name}" for name, n in
            sorted(own.items(), key=lambda kv: -kv[1])[:top]]
    per_thread = [f"{100 * n / total:5.1f}%  {name}" for name, n in
                  sorted(threads.items(), key=lambda kv: -kv[1])]
    return "\n".join(["by thread:", *per_thread, "by function (own samples):", *rows])


def main() -> None:
    args = options(__doc__, readings=300_000, single=50_000, publishers=2, rounds=1,
                   profile=False)
    ratios: dict[str, list[float]] = {}
    cpu_ratios: dict[str, list[float]] = {}
    with bench("bench", broker=True, influxd=True) as running:
        work, broker, influxd = running.work, running.broker, running.influxd
        sets = (("50 readings/message", build_messages(args.readings, 50), args.readings),
                ("1 reading/message", build_messages(args.single, 1), args.single))
        influx = InfluxClient(influxd.url)
        for round_ in range(1, args.rounds + 1):
            before = ceiling(influx, influxd, f"ceiling{round_}a", sets[0][1])
            rows = []
            for label, messages, readings in sets:
                alone = Publishers(broker.port, messages, processes=args.publishers).run()
                emitted = f"{len(messages) / alone:,.0f} msg/s, {readings / alone:,.0f} readings/s"
                for workers in (1, 2):
                    name = f"r{round_}m{len(messages)}w{workers}"
                    case = run_case(work, broker, influxd, messages, readings, workers=workers,
                                    publishers=args.publishers, name=name)
                    rows.append((f"{label}, {workers} worker{'s' if workers > 1 else ''}", case, emitted))
            after = ceiling(influx, influxd, f"ceiling{round_}b", sets[0][1])
            limit = (before.rate + after.rate) / 2  # measured around the cases: the load drifts
            cpu = (before.cpu_total + after.cpu_total) / 2
            print(f"round {round_}: raw InfluxDB /write ceiling {limit:,.0f} readings/s (before the"
                  f" cases {before.rate:,.0f}, after {after.rate:,.0f}), CPU µs per reading: client +"
                  f" influxd {before.cpu_text()} (before), {after.cpu_text()} (after)")
            cpu_head = "CPU µs/reading: ingest + broker + influxd"
            print(f"  {'case':32} {'readings/s':>10} {'/ceiling':>8}  {cpu_head:42}"
                  f" {'ceiling CPU / this':>18}   publishers alone ({args.publishers} processes)")
            for case, measured, emitted in rows:
                ratios.setdefault(case, []).append(measured.rate / limit)
                cpu_ratios.setdefault(case, []).append(cpu / measured.cpu_total)
                print(f"  {case:32} {measured.rate:10,.0f} {measured.rate / limit:8.2f}"
                      f"  {measured.cpu_text():42} {cpu / measured.cpu_total:18.2f}   {emitted}", flush=True)
        if args.rounds > 1:
            print(f"\nover {args.rounds} rounds: median (min - max) of / ceiling, and of ceiling CPU / this")
            for case, values in ratios.items():
                spread = cpu_ratios[case]
                print(f"  {case:32} {statistics.median(values):.2f} ({min(values):.2f} - {max(values):.2f})"
                      f"   {statistics.median(spread):.2f} ({min(spread):.2f} - {max(spread):.2f})")
        if args.profile:
            print("\nwhere one worker's time goes (50 readings/message, py-spy, samples holding the GIL):")
            print(profile_worker(work, broker, influxd, sets[0][1], args.publishers))


if __name__ == "__main__":
    main()
