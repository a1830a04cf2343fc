"""End-to-end readings/s through the spine, as a ratio to InfluxDB's raw write ceiling.

Both figures come from this run on this machine:

- ceiling: the same points written straight to ``/write`` in batches of 5,000 lines;
- spine: gateway buffers pre-filled with a backlog (as after an outage) are drained by
  real ``iotgw gateway`` processes through Mosquitto and one ``iotgw ingest`` worker into
  InfluxDB; timed from the gateways' start until every reading is stored.

Usage: python bench/spine_throughput.py [--gateways 4] [--devices 25] [--samples 1000]
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from harness import bench, options  # a sibling script: bench/ is on sys.path
from iotgw.devices import Reading, TelemetryBatch, telemetry_topic
from iotgw.gateway import Buffer
from iotgw.gateway.config import BrokerConfig
from iotgw.ingest import IngestConfig, decode_message
from iotgw.ingest.config import InfluxConfig, MqttConfig
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.simulators import SIGNALS, simulated_fleet, write_config
from iotgw.tsdb import InfluxClient

from iotgw.processes import IotgwProcess

START_MS = int(time.time() * 1000) - 86_400_000


def fill_buffers(fleet, samples: int) -> list[str]:
    """Write each gateway's backlog into its buffer; returns the lines a direct write sends."""
    lines: list[str] = []
    for cfg in fleet:
        buffer = Buffer(cfg.buffer.path, synchronous="normal")
        readings = [
            Reading(device=d.id, ts=ts, values=SIGNALS[d.profile](d.id, d.seed, ts))
            for ts in range(START_MS, START_MS + samples * 1000, 1000) for d in cfg.devices
        ]
        buffer.append(readings, {d.id: str(samples) for d in cfg.devices})
        buffer.close()
        for i in range(0, len(readings), 1_000):  # the lines ingest writes for them
            batch = TelemetryBatch(gateway=cfg.gateway_id, seq=i, readings=readings[i:i + 1_000])
            lines += decode_message(telemetry_topic(cfg.gateway_id),
                                    batch.model_dump_json().encode()).lines
    return lines


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count(influx: InfluxClient, database: str) -> int:
    series = influx.query(database, 'SELECT count("quality") FROM "telemetry"')
    return int(series[0].rows[0]["count"]) if series else 0


def main() -> None:
    args = options(__doc__, gateways=4, devices=25, samples=1000)
    with bench("bench", broker=True, influxd=True) as running:
        work, broker, influxd, procs = running.work, running.broker, running.influxd, running.processes
        influx = InfluxClient(influxd.url)
        fleet = simulated_fleet(args.gateways, args.devices, broker=BrokerConfig(port=broker.port),
                                buffer_dir=work / "buffers", interval_s=1.0, samples=args.samples)
        lines = fill_buffers(fleet, args.samples)
        total = len(lines)

        influx.create_database("ceiling")
        t0 = time.perf_counter()
        for i in range(0, total, 5_000):
            influx.write_lines("ceiling", "\n".join(lines[i:i + 5_000]))
        ceiling = total / (time.perf_counter() - t0)

        ingest_cfg = IngestConfig(mqtt=MqttConfig(port=broker.port),
                                  influx=InfluxConfig(url=influxd.url, database="spine"),
                                  dead_letter_path=work / "dead.sqlite")
        ingest = IotgwProcess(work, "ingest", ["ingest", "run", "--config",
                              str(write_config(ingest_cfg, work / "ingest.toml"))], ready_line=SUBSCRIBED)
        running.start(ingest)
        t0 = time.perf_counter()
        for cfg in fleet:
            proc = IotgwProcess(work, cfg.gateway_id, ["gateway", "run", "--exit-when-drained", "--config",
                                str(write_config(cfg, work / f"{cfg.gateway_id}.toml"))])
            running.start(proc)
        deadline = time.monotonic() + 600
        while (stored := count(influx, "spine")) < total and time.monotonic() < deadline:
            time.sleep(0.05)
        spine = total / (time.perf_counter() - t0)
        if stored != total:
            raise SystemExit(f"only {stored} of {total} readings stored: see logs in {work}")

        print(f"readings: {total} ({args.gateways} gateways x {args.devices} devices x {args.samples})")
        print(f"raw InfluxDB /write ceiling : {ceiling:10,.0f} readings/s")
        print(f"spine end to end (drain)    : {spine:10,.0f} readings/s")
        print(f"ratio spine / ceiling       : {spine / ceiling:10.2f}")
        print("CPU seconds per 100k readings, by process (where the time goes):")
        gateway_pids = [p.proc.pid for p in procs[1:] if p.proc]
        for name, pids in [("gateways (all)", gateway_pids), ("ingest", [ingest.proc.pid]),
                           ("mosquitto", [broker.proc.pid]), ("influxd (incl. ceiling run)",
                                                              [influxd.proc.pid])]:
            seconds = sum(cpu_seconds(pid) for pid in pids)
            print(f"  {name:28}: {seconds * 100_000 / total:6.2f}")


if __name__ == "__main__":
    main()
