"""Ingest readings/s end to end (published -> stored and acknowledged), against the raw
InfluxDB /write ceiling for the same points, both measured in this run on this machine.

Cases: 50 readings per message and 1 reading per message, with 1 and 2 workers. Messages
are built beforehand and published by a plain paho loop, so the figure is ingest's (and
the broker's and InfluxDB's), not a gateway's. One paho publisher tops out at a few
thousand QoS 1 messages/s, so the 1-reading cases measure it: its rate alone is printed.
The clock stops when ingest's own metrics say every message is acknowledged, which it
does only after the write.

Usage: python bench/ingest_throughput.py [--readings 40000] [--profile]
  --profile  also runs one worker (50 per message) under cProfile and prints where its
             time goes.
"""

from __future__ import annotations

import io
import pstats
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from harness import bench, options  # a sibling script: bench/ is on sys.path
from iotgw.devices import Reading, TelemetryBatch, telemetry_topic
from iotgw.ingest import IngestConfig, decode_message
from iotgw.ingest.config import BatchConfig, InfluxConfig, MetricsConfig, MqttConfig
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.simulators import SIGNALS, write_config
from iotgw.tsdb import InfluxClient
from paho.mqtt.enums import CallbackAPIVersion

from iotgw.processes import Influxd, IotgwProcess, Mosquitto, free_port

GATEWAYS = 20
START_MS = int(time.time() * 1000) - 3_600_000


def build_messages(readings: int, per_message: int) -> list[tuple[str, bytes]]:
    """``readings`` soil-probe readings from 20 gateways of 10 devices, in messages."""
    out = []
    per_gateway = readings // GATEWAYS
    for g in range(GATEWAYS):
        gateway = f"bench-gw-{g:02d}"
        rows = [Reading(device=f"{gateway}-d{n % 10}", ts=START_MS + n,
                        values=SIGNALS["soil_probe"](f"d{n % 10}", g, START_MS + n))
                for n in range(per_gateway)]
        for seq, i in enumerate(range(0, len(rows), per_message)):
            batch = TelemetryBatch(gateway=gateway, seq=seq, readings=rows[i:i + per_message])
            out.append((telemetry_topic(gateway), batch.model_dump_json().encode()))
    return out


def ceiling(influx: InfluxClient, messages: list[tuple[str, bytes]]) -> float:
    lines = [line for topic, payload in messages for line in decode_message(topic, payload).lines]
    influx.create_database("ceiling")
    start = time.perf_counter()
    for i in range(0, len(lines), 5_000):
        influx.write_lines("ceiling", "\n".join(lines[i:i + 5_000]))
    return len(lines) / (time.perf_counter() - start)


def publish(port: int, messages: list[tuple[str, bytes]], *, inflight: int = 1_000) -> None:
    """Publish with a plain paho loop (QoS 1) and return once every PUBACK is in."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(inflight)
    client.max_queued_messages_set(0)
    done = threading.Event()
    acked = [0]

    def on_publish(*_: object) -> None:
        acked[0] += 1
        if acked[0] == len(messages):
            done.set()

    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, payload in messages:
        client.publish(topic, payload, qos=1)
    done.wait(600)
    client.disconnect()
    client.loop_stop()


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


def run_case(work: Path, broker: Mosquitto, influxd: Influxd, messages: list[tuple[str, bytes]],
             *, workers: int, name: str) -> float:
    port = free_port()
    cfg = IngestConfig(
        mqtt=MqttConfig(port=broker.port, client_id=name, share_group=name),
        influx=InfluxConfig(url=influxd.url, database=name), batch=BatchConfig(max_lines=5_000),
        metrics=MetricsConfig(port=port), dead_letter_path=work / f"{name}.sqlite")
    path = write_config(cfg, work / f"{name}.toml")
    ingest = IotgwProcess(work, name, ["ingest", "run", "--config", str(path),
                                       "--workers", str(workers)], ready_line=SUBSCRIBED)
    ingest.start()
    time.sleep(1.0 if workers > 1 else 0.2)  # every worker subscribed
    ports = [port + i for i in range(workers)]
    start = time.perf_counter()
    publish(broker.port, messages)
    deadline = time.monotonic() + 600
    while acknowledged(ports) < len(messages) and time.monotonic() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    ingest.stop()
    return sum(len(TelemetryBatch.model_validate_json(p).readings) for _, p in messages) / elapsed


def profile_worker(work: Path, broker: Mosquitto, influxd: Influxd,
                   messages: list[tuple[str, bytes]]) -> str:
    cfg = IngestConfig(
        mqtt=MqttConfig(port=broker.port, client_id="prof", share_group="prof"),
        influx=InfluxConfig(url=influxd.url, database="prof"),
        dead_letter_path=work / "prof.sqlite", metrics=MetricsConfig(port=(port := free_port())))
    path = write_config(cfg, work / "prof.toml")
    out = work / "ingest.prof"
    proc = subprocess.Popen([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "iotgw",
                             "ingest", "run", "--config", str(path)], stderr=subprocess.DEVNULL)
    time.sleep(2)
    publish(broker.port, messages)
    while acknowledged([port]) < len(messages):
        time.sleep(0.1)
    proc.terminate()
    proc.wait(60)
    text = io.StringIO()
    pstats.Stats(str(out), stream=text).sort_stats("tottime").print_stats(15)
    return text.getvalue()


def main() -> None:
    args = options(__doc__, readings=40_000, profile=False)
    with bench("bench", broker=True, influxd=True) as running:
        work, broker, influxd = running.work, running.broker, running.influxd
        batched = build_messages(args.readings, 50)
        single = build_messages(args.readings // 4, 1)
        limit = ceiling(InfluxClient(influxd.url), batched)
        print(f"raw InfluxDB /write ceiling: {limit:,.0f} readings/s")
        start = time.perf_counter()
        publish(broker.port, single)  # nobody subscribed yet: the broker drops them
        print(f"the publisher alone, 1 reading/message: "
              f"{len(single) / (time.perf_counter() - start):,.0f} messages/s (bounds those cases)")
        print(f"{'case':34} {'readings/s':>12} {'/ ceiling':>10}")
        for label, messages in (("50 readings/message", batched), ("1 reading/message", single)):
            for workers in (1, 2):
                name = f"b{len(messages)}w{workers}"
                rate = run_case(work, broker, influxd, messages, workers=workers, name=name)
                case = f"{label}, {workers} worker{'s' if workers > 1 else ''}"
                print(f"{case:34} {rate:12,.0f} {rate / limit:10.2f}")
        if args.profile:
            print("\nwhere one worker's time goes (50 readings/message, cProfile, by own time):")
            print(profile_worker(work, broker, influxd, batched))


if __name__ == "__main__":
    main()
