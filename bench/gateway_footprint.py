"""The edge agent's footprint: 200 simulated devices at one reading a second (resident
memory, CPU seconds per 1,000 readings), and how fast it drains a 100,000-reading backlog
next to a plain paho loop publishing the same batches to the same broker in this run.

A plain subscriber on the broker makes every PUBACK a *Success* (with no subscriber the
agent would keep the readings, as it must). Targets: RSS <= 80 MB, drain >= 50 % of the
raw loop.

Usage: python bench/gateway_footprint.py [--seconds 30] [--backlog 100000]
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from harness import bench, options  # a sibling script: bench/ is on sys.path
from ingest_throughput import publish  # a sibling script: bench/ is on sys.path
from iotgw.devices import Reading, TelemetryBatch, telemetry_topic
from iotgw.devices.topics import TELEMETRY_SUBSCRIPTION
from iotgw.gateway import GatewayConfig
from iotgw.gateway.buffer import Buffer
from iotgw.gateway.config import BrokerConfig
from iotgw.simulators import SIGNALS, simulated_fleet, write_config
from paho.mqtt.enums import CallbackAPIVersion

from iotgw.processes import IotgwProcess

DEVICES = 200
BATCH = 500  # the agent's default max_readings_per_batch


def proc_stats(pid: int) -> tuple[float, int]:
    """(CPU seconds, peak resident bytes) of a live process, from /proc (Linux)."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    return cpu, int(hwm.split()[1]) * 1024


def subscriber(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-sink", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.subscribe(TELEMETRY_SUBSCRIPTION, qos=0)
    client.loop_start()
    return client


def fleet(port: int, work: Path, name: str, samples: int) -> GatewayConfig:
    [cfg] = simulated_fleet(1, DEVICES, broker=BrokerConfig(port=port), buffer_dir=work / name,
                            interval_s=1.0, samples=samples, prefix=name)
    return cfg


_LOG_TIME = "%Y-%m-%d %H:%M:%S,%f"


def run_gateway(cfg: GatewayConfig, work: Path, *, sample_every_s: float = 1.0) -> tuple[float, float, int]:
    """Run until drained: (seconds from its connection to its exit, CPU seconds, peak RSS)."""
    path = write_config(cfg, work / f"{cfg.gateway_id}.toml")
    proc = IotgwProcess(work, cfg.gateway_id, ["gateway", "run", "--exit-when-drained",
                                               "--config", str(path)])
    proc.start()
    cpu = rss = 0
    while proc.proc is not None and proc.proc.poll() is None:
        try:
            cpu, rss = proc_stats(proc.proc.pid)
        except (OSError, StopIteration):
            break
        time.sleep(sample_every_s)
    assert proc.wait(600) == 0, proc.log_tail()
    # From the connection (the log's first "connected to broker") to the last PUBACK (its
    # "every reading acknowledged"): the drain itself, without Python's start-up, shut-down
    # or this loop's sampling interval (which had added up to a second to a 0.5 s drain).
    lines = proc.log_path.read_text().splitlines()
    connected, drained = (dt.datetime.strptime(next(x for x in lines if what in x)[:23], _LOG_TIME)
                          for what in ("connected to broker", "every reading acknowledged"))
    return (drained - connected).total_seconds(), cpu, rss


def fill(cfg: GatewayConfig, readings_total: int) -> list[bytes]:
    """Put the backlog in the agent's buffer; returns the same readings as v1 batches."""
    per_device = readings_total // DEVICES
    start_ms = int(time.time() * 1000) - 86_400_000
    readings = [Reading(device=d.id, ts=start_ms + s * 1000,
                        values=SIGNALS[d.profile](d.id, d.seed, start_ms + s * 1000))
                for s in range(per_device) for d in cfg.devices]
    buffer = Buffer(cfg.buffer.path, synchronous="normal")
    buffer.append(readings, {d.id: str(per_device) for d in cfg.devices})
    buffer.close()
    return [TelemetryBatch(gateway=cfg.gateway_id, seq=i, readings=readings[i:i + BATCH])
            .model_dump_json().encode() for i in range(0, len(readings), BATCH)]


def raw_loop(port: int, topic: str, payloads: list[bytes]) -> float:
    """Seconds for a plain paho client to publish the batches, QoS 1, until every PUBACK,
    with the agent's default window of 20 messages in flight."""
    start = time.perf_counter()
    publish(port, [(topic, p) for p in payloads], inflight=20)
    return time.perf_counter() - start


def main() -> None:
    args = options(__doc__, seconds=30, backlog=100_000)
    with bench("gw-bench", broker=True) as running:
        work, broker = running.work, running.broker
        sink = subscriber(broker.port)
        live = fleet(broker.port, work, "live", samples=args.seconds)
        _, cpu, rss = run_gateway(live, work)
        readings = DEVICES * args.seconds
        print(f"{DEVICES} devices at 1 reading/s for {args.seconds} s ({readings:,} readings):")
        print(f"  peak resident memory {rss / 2**20:6.1f} MB   (target <= 80 MB)")
        print(f"  CPU                  {cpu / readings * 1000:6.3f} s per 1,000 readings")

        backlog = fleet(broker.port, work, "backlog", samples=args.backlog // DEVICES)
        batches = fill(backlog, args.backlog)
        drain_s, _, drain_rss = run_gateway(backlog, work, sample_every_s=0.2)
        # A 100k loop takes 30-80 ms here and varies run to run: the median of three.
        raw_s = statistics.median(raw_loop(broker.port, telemetry_topic("bench-raw-gw"), batches)
                                  for _ in range(3))
        drain, raw = args.backlog / drain_s, args.backlog / raw_s
        print(f"backlog of {args.backlog:,} readings ({len(batches)} batches of {BATCH}):")
        print(f"  agent drains         {drain:10,.0f} readings/s (peak RSS {drain_rss / 2**20:.1f} MB)")
        print(f"  plain paho loop      {raw:10,.0f} readings/s (median of 3)")
        print(f"  ratio                {drain / raw:10.2f}   (target >= 0.50)")
        sink.loop_stop()


if __name__ == "__main__":
    main()
