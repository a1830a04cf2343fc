"""A province's day at scale: 100,000 household meters at 15 minutes and 5,000 field sensors
at one minute (16.8 million readings), through the whole spine, against the day itself.

Set-up: a SQLite registry holding every device with its placement, gateway and organisation
(each meter under its own household meter point, so its readings go to the personal
database; sensors on farms), so ingest's enrichment is the real one. The day (yesterday,
Vietnam time) is pre-encoded as telemetry batches in the wire format, one message per
gateway and minute (1,000 gateways of 100 meters and 5 sensors), by several publisher
processes. They first publish the start of it while nobody is subscribed (the broker drops
it): their own rate. Then they publish the day into the real broker as fast as two real
ingest workers store it in the real influxd, never more than ``AHEAD`` messages ahead of
ingest's acknowledgements (the broker would otherwise queue the day in memory).
``iotgw rollup backfill`` rolls the day up; ``iotgw api run`` answers coverage and
indicator requests uncached (``cache_s = 0``) under ``wrk``.

Printed, each against a baseline of this run: ingest's rate against the day's arrival rate
(its readings / 86,400 s) and the publishers' own rate (so one sees they did not bound it);
the rollup's time per hour of data against the hour, and against a bare ``count()`` over the
day; InfluxDB's series (``SHOW SERIES CARDINALITY``, ``SHOW STATS``) with its index; the
API's p95 against ``/healthz``'s; and every process's peak memory (VmHWM).

Usage: python bench/province_scale.py [--scale 1.0] [--publishers 2] [--workers 2]
           [--index tsi1] [--seconds 10] [--clients 50]
  --scale    fraction of the province (0.01: 1,000 meters, 50 sensors, 10 gateways).
  --index    InfluxDB's index (tsi1 or inmem), set for this influxd through
             INFLUXDB_DATA_INDEX_VERSION; deploy/influxdb/influxdb.conf leaves inmem.
  --seconds  per API endpoint; at full scale use 60, or too few uncached views complete.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing as mp
import os
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from api_latency import measure  # sibling scripts: bench/ is on sys.path
from harness import Bench, bench, options
from ingest_throughput import acknowledged
from iotgw.api import ApiConfig
from iotgw.api.auth import create_token
from iotgw.devices import TelemetryBatch, telemetry_topic
from iotgw.devices.links import RegistryLink
from iotgw.ingest import IngestConfig
from iotgw.ingest.config import InfluxConfig as IngestInflux
from iotgw.ingest.config import MetricsConfig, MqttConfig
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.registry import ApiRole, OrgType, Sector, make_engine, session_factory
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.periods import VIETNAM, local_midnight_ms
from iotgw.simulators import SIGNALS, write_config
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig
from iotgw.tsdb.schema import HOUR_MS, RAW_RP, TELEMETRY, personal_database
from paho.mqtt.enums import CallbackAPIVersion
from rollup_cost import Placed, register

from iotgw.processes import IotgwProcess, free_port

PROVINCE = 75  # Đồng Nai
DATABASE = "iotgw"
METERS, SENSORS, GATEWAYS = 100_000, 5_000, 1_000  # at --scale 1
METER_S, SENSOR_S = 900, 60
SENSOR_PROFILES = ("soil_probe", "soil_probe", "air_quality", "water_quality")
_HEADER = struct.Struct("<HI")  # topic and payload lengths of one pre-encoded message
ALONE = 20_000  # messages per publisher timed without ingest: the publishers' own rate
# Messages published ahead of ingest's acknowledgements: the broker queues them (its memory,
# and ``max_queued_bytes`` drops past 1 GiB per client). Above the workers' receive maximum.
AHEAD = 50_000


@dataclass
class Flow:
    """What the bench and its publisher processes say to each other."""

    publishers: int
    ready: mp.Queue  # (messages, readings) encoded, from each publisher
    done: mp.Queue  # (messages, seconds) published, from each publisher, twice
    alone: mp.Event  # publish the first ALONE messages, nobody subscribed
    go: mp.Event  # publish the day
    acked: mp.Value  # messages ingest acknowledged so far, kept up to date by the bench


@dataclass(frozen=True)
class Fleet:
    """Who is where: meter m and sensor s are on gateway m % gateways and s % gateways."""

    meters: int
    sensors: int
    gateways: int
    day_start_ms: int

    @classmethod
    def at(cls, scale: float, day: dt.date) -> Fleet:
        return cls(max(1, round(METERS * scale)), max(1, round(SENSORS * scale)),
                   max(1, round(GATEWAYS * scale)), local_midnight_ms(day))

    @property
    def readings(self) -> int:
        return self.meters * 86_400 // METER_S + self.sensors * 86_400 // SENSOR_S


def gateway_id(g: int) -> str:
    return f"gw-{g:04d}"


def meter_id(m: int) -> str:
    return f"meter-{m:06d}"


def sensor_id(s: int) -> str:
    return f"sensor-{s:05d}"


def devices(fleet: Fleet) -> Iterator[Placed]:
    """Every meter under its own household meter point (so its readings go to the personal
    database) and every sensor on a farm of two, each on its gateway and in its ward."""
    for m in range(fleet.meters):
        g = m % fleet.gateways
        yield Placed(meter_id(m), "electricity_meter", Sector.ENERGY, METER_S, f"household-{m:06d}",
                     OrgType.HOUSEHOLD_METER_POINT, g, gateway_id(g))
    for s in range(fleet.sensors):
        g = s % fleet.gateways
        yield Placed(sensor_id(s), SENSOR_PROFILES[s % len(SENSOR_PROFILES)], Sector.AGRICULTURE, SENSOR_S,
                     f"farm-{s // 2:05d}", OrgType.FARM, g, gateway_id(g))


def _reading(device: str, profile: str, seed: int, ts: int) -> str:
    values = ",".join(f'"{k}":{v!r}' for k, v in SIGNALS[profile](device, seed, ts).items())
    return f'{{"device":"{device}","ts":{ts},"values":{{{values}}},"quality":"good"}}'


def gateway_minute(fleet: Fleet, g: int, minute: int) -> list[str]:
    """The readings gateway ``g`` sends for one minute of the day, as JSON: each sensor's
    reading, and those of the meters whose 15-minute read falls in it (meters are read at
    an offset of their own within each quarter hour, as a polling gateway spreads them)."""
    start = fleet.day_start_ms + minute * 60_000
    out = [_reading(sensor_id(s), SENSOR_PROFILES[s % len(SENSOR_PROFILES)], s,
                    start + (s * 13 % 60) * 1000) for s in range(g, fleet.sensors, fleet.gateways)]
    quarter = fleet.day_start_ms + (minute // 15) * METER_S * 1000
    for m in range(g, fleet.meters, fleet.gateways):
        offset_s = m * 7919 % METER_S
        if offset_s // 60 == minute % 15:
            out.append(_reading(meter_id(m), "electricity_meter", m, quarter + offset_s * 1000))
    return out


def encode(fleet: Fleet, gateways: list[int], path: Path) -> tuple[int, int]:
    """Write the gateways' day to ``path`` in publishing order (minute by minute), one
    message per gateway and minute; returns (messages, readings). The first message is
    checked against ``TelemetryBatch``: what is published is the wire format."""
    messages = readings = 0
    with path.open("wb") as out:
        for minute in range(24 * 60):
            for g in gateways:
                rows = gateway_minute(fleet, g, minute)
                if not rows:
                    continue
                payload = (f'{{"v":1,"gateway":"{gateway_id(g)}","seq":{minute},"replay":false,'
                           f'"ack":false,"readings":[{",".join(rows)}]}}').encode()
                if messages == 0 and len(TelemetryBatch.model_validate_json(payload).readings) != len(rows):
                    raise AssertionError("a pre-encoded batch does not decode as TelemetryBatch")
                topic = telemetry_topic(gateway_id(g)).encode()
                out.write(_HEADER.pack(len(topic), len(payload)) + topic + payload)
                messages += 1
                readings += len(rows)
    return messages, readings


def publish_file(port: int, path: Path, client_id: str, *, limit: int | None = None,
                 gate: Callable[[int], None] | None = None, inflight: int = 1_000) -> int:
    """Publish a pre-encoded file (QoS 1), or its first ``limit`` messages, and return how
    many once every PUBACK is in. At most ``2 * inflight`` messages are outstanding, so
    memory does not grow with the day; ``gate(sent)`` is called before each message."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(inflight)
    client.max_queued_messages_set(0)
    window = threading.BoundedSemaphore(2 * inflight)
    client.on_publish = lambda *_: window.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent = 0
    with path.open("rb") as source:
        while (limit is None or sent < limit) and (header := source.read(_HEADER.size)):
            topic_len, payload_len = _HEADER.unpack(header)
            topic = source.read(topic_len).decode()
            if gate:
                gate(sent)
            window.acquire()
            client.publish(topic, source.read(payload_len), qos=1)
            sent += 1
    for _ in range(2 * inflight):  # every PUBACK in
        if not window.acquire(timeout=600):
            raise TimeoutError(f"{client_id}: PUBACKs missing after 600 s")
    client.disconnect()
    client.loop_stop()
    return sent


def publisher(index: int, fleet: Fleet, gateways: list[int], path: Path, port: int, ahead: int,
              flow: Flow) -> None:
    """One publisher process: encode its gateways' day; publish the start of it while
    nobody subscribed (the broker drops it: the publisher's own rate); then the day, never
    more than ``ahead`` messages (all publishers together) beyond what ingest acknowledged."""
    messages, readings = encode(fleet, gateways, path)
    flow.ready.put((messages, readings))
    flow.alone.wait()
    start = time.perf_counter()
    sent = publish_file(port, path, f"province-publisher-{index}", limit=ALONE)
    flow.done.put((sent, time.perf_counter() - start))
    flow.go.wait()
    publishers = flow.publishers

    def gate(sent: int) -> None:
        while sent * publishers - flow.acked.value > ahead:
            time.sleep(0.01)

    start = time.perf_counter()
    publish_file(port, path, f"province-publisher-{index}", gate=gate)
    flow.done.put((messages, time.perf_counter() - start))


def receive(box: mp.Queue, procs: list[mp.Process]) -> tuple[int, float]:
    """The next report of a publisher; exits if one of them died instead."""
    while True:
        try:
            return box.get(timeout=5)
        except queue.Empty:
            if any(proc.exitcode not in (None, 0) for proc in procs):
                raise SystemExit("a publisher failed: see its traceback above") from None


def children(pid: int) -> list[int]:
    """Direct children of a live process (Linux)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def peak_mb(pid: int) -> float:
    """Peak resident memory of a live process so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def stored(influx: InfluxClient, database: str, fleet: Fleet) -> int:
    start = fleet.day_start_ms
    series = influx.query(database, f'SELECT count("quality") FROM "{RAW_RP}"."{TELEMETRY}"'
                                    f" WHERE time >= {start}ms AND time < {start + 24 * HOUR_MS}ms")
    return int(series[0].rows[0]["count"]) if series else 0


def cardinality(influx: InfluxClient, database: str) -> tuple[int, dict[str, int]]:
    """Series of every retention policy (``SHOW SERIES CARDINALITY``, an estimate), and
    those of the default one (raw) per measurement (``EXACT``, which sees only that one)."""
    estimate = influx.query(database, "SHOW SERIES CARDINALITY")
    exact = influx.query(database, "SHOW SERIES EXACT CARDINALITY")
    return (int(estimate[0].rows[0]["cardinality estimation"]) if estimate else 0,
            {s.name: int(s.rows[0]["count"]) for s in exact if s.rows})


def stats(influx: InfluxClient) -> dict[str, float]:
    """numSeries per database and the Go heap, from ``SHOW STATS``."""
    out: dict[str, float] = {}
    for s in influx.query(None, "SHOW STATS"):
        if s.name == "database" and s.rows:
            out[f"numSeries {s.tags.get('database')}"] = s.rows[0]["numSeries"]
        elif s.name == "runtime" and s.rows:
            out["HeapInUse MiB"] = s.rows[0]["HeapInUse"] / 2**20
            out["Sys MiB"] = s.rows[0]["Sys"] / 2**20
    return out


def run_rollup(work: Path, config: Path, day: dt.date) -> tuple[float, float]:
    """``iotgw rollup backfill`` over the day: (seconds, peak RSS MiB). The peak is the
    child's VmHWM read every 0.2 s while it runs, not ``wait4``'s ``ru_maxrss``: Linux keeps
    that across fork and exec, so it could not be lower than this bench's own peak."""
    log = (work / "rollup.log").open("wb")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-P", "-m", "iotgw", "rollup", "backfill", "--config",
                             str(config), "--from", str(day), "--to", str(day)],
                            stdout=log, stderr=subprocess.STDOUT)
    peak = 0.0
    while proc.poll() is None:
        with contextlib.suppress(OSError, RuntimeError):  # ended meanwhile (a zombie has no VmHWM)
            peak = max(peak, peak_mb(proc.pid))
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"rollup failed ({proc.returncode}): see {work / 'rollup.log'}")
    return elapsed, peak


def ingest_day(running: Bench, fleet: Fleet, registry: str, args: argparse.Namespace) -> dict[str, float]:
    """Encode, then publish the day and wait until ingest acknowledged every message;
    returns the figures and the peak memory of the broker and the ingest processes."""
    work, broker, influxd = running.work, running.broker, running.influxd
    ctx = mp.get_context("spawn")
    flow = Flow(args.publishers, ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Event(), ctx.Value("q", 0))
    t = time.perf_counter()
    procs = [ctx.Process(target=publisher, args=(
        p, fleet, list(range(p, fleet.gateways, args.publishers)), work / f"publisher-{p}.bin",
        broker.port, AHEAD, flow), daemon=True) for p in range(args.publishers)]
    for proc in procs:
        proc.start()
    encoded = [receive(flow.ready, procs) for _ in procs]
    messages, readings = sum(m for m, _ in encoded), sum(r for _, r in encoded)
    print(f"pre-encoded {messages:,} messages, {readings:,} readings in "
          f"{time.perf_counter() - t:.0f} s ({args.publishers} publishers)")
    flow.alone.set()
    alone = [receive(flow.done, procs) for _ in procs]
    alone_rate = sum(n for n, _ in alone) / max(s for _, s in alone)
    if readings != fleet.readings:
        raise SystemExit(f"encoded {readings} readings, expected {fleet.readings}")

    metrics = free_port()
    cfg = IngestConfig(mqtt=MqttConfig(port=broker.port), influx=IngestInflux(url=influxd.url,
                       database=DATABASE, timeout_s=60), registry=RegistryLink(url=registry),
                       metrics=MetricsConfig(port=metrics), dead_letter_path=work / "dead.sqlite")
    ingest = running.start(IotgwProcess(work, "ingest", [
        "ingest", "run", "--config", str(write_config(cfg, work / "ingest.toml")),
        "--workers", str(args.workers)], ready_line=SUBSCRIBED))
    ports = [metrics + i for i in range(args.workers)]
    deadline = time.monotonic() + 60
    while args.workers > 1 and len(children(ingest.proc.pid)) < args.workers:  # a supervisor's
        if time.monotonic() > deadline:
            raise SystemExit(f"ingest workers did not start: see {work}")
        time.sleep(0.2)
    time.sleep(2.0)  # every worker subscribed

    start = time.perf_counter()
    flow.go.set()
    deadline = time.monotonic() + max(1800, readings / 1_000)
    while (acked := acknowledged(ports)) < messages and time.monotonic() < deadline:
        flow.acked.value = acked
        time.sleep(0.1)
    elapsed = time.perf_counter() - start
    if acked < messages:
        raise SystemExit(f"only {acked} of {messages} messages acknowledged: see {work}")
    published = max(s for _, s in (receive(flow.done, procs) for _ in procs))
    for p, proc in enumerate(procs):
        proc.join(60)
        (work / f"publisher-{p}.bin").unlink()  # 1.7 GB at full scale
    memory = {"mosquitto (broker)": peak_mb(broker.proc.pid)}
    workers = children(ingest.proc.pid) if args.workers > 1 else [ingest.proc.pid]
    if args.workers > 1:
        memory["ingest supervisor"] = peak_mb(ingest.proc.pid)
    for n, pid in enumerate(workers, 1):
        memory[f"ingest worker {n}"] = peak_mb(pid)
    return {"messages": messages, "readings": readings, "elapsed": elapsed,
            "published": published, "alone": alone_rate, **{f"mem {k}": v for k, v in memory.items()}}


def main() -> None:
    args = options(__doc__, scale=1.0, publishers=2, workers=2, index="tsi1", seconds=10, clients=50)
    if args.index not in ("tsi1", "inmem"):
        sys.exit(f"--index {args.index}: tsi1 or inmem")
    os.environ["INFLUXDB_DATA_INDEX_VERSION"] = args.index  # influxd's own override of [data] index-version
    day = dt.datetime.now(VIETNAM).date() - dt.timedelta(days=1)  # a whole day, all in the past
    fleet = Fleet.at(args.scale, day)
    print(f"province at scale {args.scale:g}: {fleet.meters:,} household meters every 15 min, "
          f"{fleet.sensors:,} field sensors every minute, {fleet.gateways:,} gateways; "
          f"{fleet.readings:,} readings on {day}; influxd index {args.index}")
    with bench("province", broker=True, influxd=True) as running:
        work, influxd = running.work, running.influxd
        influx = InfluxClient(influxd.url, timeout_s=600)
        registry = f"sqlite:///{work / 'registry.sqlite'}"
        t = time.perf_counter()
        register(registry, devices(fleet), PROVINCE)
        print(f"registry: {fleet.meters + fleet.sensors:,} devices placed in {time.perf_counter() - t:.0f} s")

        got = ingest_day(running, fleet, registry, args)
        readings, elapsed = got["readings"], got["elapsed"]
        arrival = readings / 86_400
        rate = readings / elapsed
        main_n = stored(influx, DATABASE, fleet)
        personal_n = stored(influx, personal_database(DATABASE), fleet)
        print("\ningest (publish start -> every message acknowledged, i.e. stored)")
        print(f"  arrival rate of the day        : {arrival:12,.1f} readings/s (baseline)")
        print(f"  ingest, {args.workers} workers              : {rate:12,.0f} readings/s "
              f"= {rate / arrival:,.1f} x arrival ({elapsed:,.0f} s for the day)")
        per_message = readings / got["messages"]
        print(f"  publishers alone ({args.publishers})           : {got['alone'] * per_message:12,.0f} "
              f"readings/s, nobody subscribed ({got['alone']:,.0f} messages/s of {per_message:.1f} readings)")
        print(f"  (publishing kept at most {AHEAD:,} messages ahead of ingest's acknowledgements; "
              f"the last published at {got['published']:,.0f} s)")
        print(f"  stored: {main_n:,} in {DATABASE}, {personal_n:,} in {personal_database(DATABASE)} "
              f"of {readings:,} sent")
        if main_n + personal_n != readings:
            print(f"  MISSING {readings - main_n - personal_n:,} readings: see the dead letters in "
                  f"{work / 'dead.sqlite'}")

        start_ms = fleet.day_start_ms
        t = time.perf_counter()
        influx.query(personal_database(DATABASE), f'SELECT count("quality") FROM "{RAW_RP}"."{TELEMETRY}"'
                     f" WHERE time >= {start_ms}ms AND time < {start_ms + 24 * HOUR_MS}ms")
        influx.query(DATABASE, f'SELECT count("quality") FROM "{RAW_RP}"."{TELEMETRY}"'
                     f" WHERE time >= {start_ms}ms AND time < {start_ms + 24 * HOUR_MS}ms")
        count_s = time.perf_counter() - t
        rollup_cfg = write_config(RollupConfig(
            influx=InfluxConfig(url=influxd.url, database=DATABASE, timeout_s=600),
            registry=RegistryLink(url=registry)), work / "rollup.toml")
        rollup_s, rollup_mb = run_rollup(work, rollup_cfg, day)
        print("\nrollup (iotgw rollup backfill over the day: hourly, daily, every indicator)")
        print(f"  whole day                      : {rollup_s:10,.1f} s = {rollup_s / count_s:,.1f} x "
              f"a bare count() over the day ({count_s:.1f} s, both databases)")
        print(f"  per hour of data               : {rollup_s / 24:10,.1f} s = "
              f"{rollup_s / 24 / 3600:.4f} of the hour")

        print(f"\ninfluxd (index {args.index})")
        for database in (DATABASE, personal_database(DATABASE)):
            estimate, exact = cardinality(influx, database)
            print(f"  {database}: SHOW SERIES CARDINALITY {estimate:,} (every RP); EXACT, raw RP: "
                  + ", ".join(f"{name} {n:,}" for name, n in sorted(exact.items(), key=lambda c: -c[1])))
        for key, value in stats(influx).items():
            print(f"  SHOW STATS {key:28}: {value:,.0f}")

        with session_factory(make_engine(registry))() as session, session.begin():
            token = create_token(session, "bench", ApiRole.MINISTRY)
        port = free_port()
        config = write_config(ApiConfig(
            port=port, influx=InfluxConfig(url=influxd.url, database=DATABASE, timeout_s=600),
            registry=RegistryLink(url=registry), rate_limit="", open_data_rate_limit="", cache_s=0),
            work / "api.toml")
        base = f"http://127.0.0.1:{port}"
        api = running.start(IotgwProcess(work, "api", ["api", "run", "--config", str(config)],
                                         ready_url=f"{base}/healthz"))
        paths = {
            "/healthz": "/healthz",
            "coverage (province-day)": f"/v1/provinces/{PROVINCE}/coverage?date={day}",
            "households_smart_metered (year)": f"/v1/indicators/households_smart_metered/values?"
                                               f"province={PROVINCE}&period=year&from={day}&to={day}",
            "active_iot_devices (year)": f"/v1/indicators/active_iot_devices/values?"
                                         f"province={PROVINCE}&period=year&from={day}&to={day}",
        }
        auth = {"Authorization": f"Bearer {token}"}
        alone = {}
        # Every endpoint alone first: under wrk the API computes every queued request, also
        # those wrk gave up on, so a request right after a wrk run waits behind them all.
        for label, path in paths.items():
            for _ in range(2):  # the first one warms up (connections, the registry's pages)
                t = time.perf_counter()
                httpx.get(base + path, headers=auth, timeout=1800).raise_for_status()
            alone[label] = (time.perf_counter() - t) * 1000

        print("\npeak memory (VmHWM), MiB, before the API's load")
        memory = {k[4:]: v for k, v in got.items() if k.startswith("mem ")}
        memory.update({"influxd": peak_mb(influxd.proc.pid), "rollup": rollup_mb,
                       "api (each endpoint alone)": peak_mb(api.proc.pid)})
        for name, mb in memory.items():
            print(f"  {name:30}: {mb:10,.0f}")

        print(f"\nAPI uncached (cache_s = 0): one request alone, then {args.clients} clients (wrk) "
              f"for {args.seconds} s per endpoint")
        print(f"  {'endpoint':34} {'alone ms':>9} {'requests':>9} {'p50 ms':>9} {'p95 ms':>9} "
              f"{'/ healthz p95':>14}")
        floor = None
        for label, path in paths.items():
            # A 120 s timeout: an uncached view under 50 clients takes longer than wrk's 2 s.
            p50, p95, requests = measure(base + path, token, args.seconds, clients=args.clients,
                                         timeout_s=120)
            floor = floor or p95
            print(f"  {label:34} {alone[label]:9.1f} {requests:9} {p50:9.1f} {p95:9.1f} "
                  f"{p95 / floor:14.1f}", flush=True)
        print(f"  peak memory of the API under wrk, MiB: {peak_mb(api.proc.pid):,.0f}")


if __name__ == "__main__":
    main()
