"""The spine under test: ingest and gateway agents as real ``iotgw`` processes."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import paho.mqtt.client as mqtt
from iotgw.devices import status_topic, telemetry_topic
from iotgw.devices.links import RegistryLink
from iotgw.gateway import GatewayConfig
from iotgw.gateway.config import BrokerConfig, PublishConfig
from iotgw.ingest import DeadLetterStore, IngestConfig, retire_session
from iotgw.ingest.config import (
    BatchConfig,
    DeadLetterLimits,
    InfluxConfig,
    MetricsConfig,
    MqttConfig,
)
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.simulators import SIGNALS, simulated_fleet, write_config
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.schema import TELEMETRY, personal_database
from paho.mqtt.enums import CallbackAPIVersion

from iotgw.processes import Influxd, IotgwProcess, Mosquitto
from tests.faults.ledger import Tally

DEADLINE_S = 90.0


@dataclass
class Spine:
    broker: Mosquitto
    influxd: Influxd
    influx: InfluxClient
    database: str
    name: str
    workdir: Path
    processes: list[IotgwProcess] = field(default_factory=list)
    ingest_configs: list[IngestConfig] = field(default_factory=list)
    supervised_workers: int = 0

    def ingest_config(self, worker: int = 1, *, max_wait_s: float = 0.3,
                      registry_url: str | None = None, metrics_port: int | None = None,
                      receive_maximum: int = 10_000,
                      dead_letters: DeadLetterLimits | None = None) -> IngestConfig:
        return IngestConfig(
            registry=RegistryLink(url=registry_url) if registry_url else None,
            metrics=MetricsConfig(port=metrics_port),
            mqtt=MqttConfig(host=self.broker.host, port=self.broker.port,
                            client_id=f"{self.name}-ingest-{worker}",
                            share_group=self.name, receive_maximum=receive_maximum),
            influx=InfluxConfig(url=self.influxd.url, database=self.database),
            batch=BatchConfig(max_wait_s=max_wait_s),
            dead_letter_path=self.workdir / "dead-letters.sqlite",
            dead_letters=dead_letters or DeadLetterLimits(),
        )

    def start_ingest(self, worker: int = 1, *, max_wait_s: float = 0.3,
                     registry_url: str | None = None, metrics_port: int | None = None,
                     workers: int = 1, receive_maximum: int = 10_000,
                     dead_letters: DeadLetterLimits | None = None) -> IotgwProcess:
        cfg = self.ingest_config(worker, max_wait_s=max_wait_s, registry_url=registry_url,
                                 metrics_port=metrics_port, receive_maximum=receive_maximum,
                                 dead_letters=dead_letters)
        self.supervised_workers = max(self.supervised_workers, workers if workers > 1 else 0)
        self.ingest_configs.append(cfg)
        path = write_config(cfg, self.workdir / f"ingest-{worker}.toml")
        args = ["ingest", "run", "--config", str(path), "--workers", str(workers)]
        proc = IotgwProcess(self.workdir, f"ingest-{worker}", args, ready_line=SUBSCRIBED)
        proc.start()
        self.processes.append(proc)
        return proc

    def fleet(self, gateways: int, devices: int, samples: int, interval_s: float) -> list[GatewayConfig]:
        return simulated_fleet(
            gateways, devices,
            broker=BrokerConfig(host=self.broker.host, port=self.broker.port, reconnect_min_s=0.2,
                                reconnect_max_s=2.0),
            buffer_dir=self.workdir / "buffers", interval_s=interval_s, samples=samples,
            prefix=self.name,
        )

    def start_gateway(self, cfg: GatewayConfig) -> IotgwProcess:
        cfg = cfg.model_copy(update={"publish": PublishConfig(max_readings_per_batch=100,
                                                             heartbeat_s=0.5)})
        path = write_config(cfg, self.workdir / f"{cfg.gateway_id}.toml")
        proc = IotgwProcess(self.workdir, cfg.gateway_id,
                            ["gateway", "run", "--exit-when-drained", "--config", str(path)])
        proc.start()
        self.processes.append(proc)
        return proc

    def databases(self) -> list[str]:
        """The main database and, once ingest has created it, the personal one (household
        meters' readings, see ``tsdb.schema``)."""
        personal = personal_database(self.database)
        exists = any(personal in row.values() for series in self.influx.query(None, "SHOW DATABASES")
                     for row in series.rows)
        return [self.database, personal] if exists else [self.database]

    def stored(self) -> dict[str, list[dict]]:
        """Every stored point, by device, household meters' included."""
        out: dict[str, list[dict]] = defaultdict(list)
        for database in self.databases():
            for series in self.influx.query(
                    database, f'SELECT * FROM "{TELEMETRY}" GROUP BY "device"'):
                out[series.tags["device"]].extend(series.rows)
        return out

    def count(self) -> int:
        """Readings stored, household meters' included."""
        return sum(int(series[0].rows[0]["count"]) if series else 0 for series in (
            self.influx.query(database, f'SELECT count("quality") FROM "{TELEMETRY}"')
            for database in self.databases()))

    def wait_for_count(self, expected: int, *, timeout_s: float = DEADLINE_S) -> int:
        """Wait until ``expected`` points are stored; returns the count at the deadline."""
        deadline = time.monotonic() + timeout_s
        count = self.count()
        while count < expected and time.monotonic() < deadline:
            time.sleep(0.25)
            count = self.count()
        return count

    def wait_until(self, predicate, *, timeout_s: float = DEADLINE_S, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
            time.sleep(0.05)

    def publish_raw(self, gateway_id: str, payloads: list[bytes], *,
                    kind: Literal["telemetry", "status"] = "telemetry") -> None:
        """Publish hand-made payloads on a gateway's telemetry or status topic (QoS 1, each
        acked; a status is not retained, so it reaches no later test's ingest)."""
        topic = telemetry_topic(gateway_id) if kind == "telemetry" else status_topic(gateway_id)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=gateway_id, protocol=mqtt.MQTTv5)
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        try:
            for payload in payloads:
                client.publish(topic, payload, qos=1).wait_for_publish(10)
        finally:
            client.disconnect()
            client.loop_stop()

    def dead_letters(self):
        store = DeadLetterStore(self.workdir / "dead-letters.sqlite")
        try:
            return store.list(limit=10_000)
        finally:
            store.close()

    def close(self) -> None:
        for proc in self.processes:
            proc.kill()
        if self.broker.proc is not None and self.broker.proc.poll() is None:
            for cfg in self.ingest_configs:
                retire_session(cfg.mqtt, timeout_s=5)
                for n in range(1, self.supervised_workers + 1):  # --workers' client ids
                    retire_session(cfg.mqtt.model_copy(
                        update={"client_id": f"{cfg.mqtt.client_id}-{n}"}), timeout_s=5)


def tally(spine: Spine, fleet: list[GatewayConfig]) -> Tally:
    """What arrived of what the fleet sent: each device's ``samples`` points, each equal to
    what its signal gives at the point's time, from its gateway, quality good."""
    expected_total = sum(d.samples or 0 for g in fleet for d in g.devices)
    spine.wait_for_count(expected_total)
    time.sleep(1.0)  # anything extra would show up now
    stored = spine.stored()
    lost = duplicated = wrong = arrived = 0
    problems = []
    for gateway in fleet:
        for device in gateway.devices:
            rows = stored[device.id]
            arrived += len(rows)
            lost += max(0, (device.samples or 0) - len(rows))
            duplicated += max(0, len(rows) - (device.samples or 0))
            if len(rows) != device.samples:
                problems.append(f"{device.id}: {len(rows)} of {device.samples}")
            signal = SIGNALS[device.profile]
            for row in rows:
                expected = signal(device.id, device.seed, row["time"])
                got = {name: row[name] for name in expected}
                if got != expected or row["gateway"] != gateway.gateway_id or row["quality"] != "good":
                    wrong += 1
                    problems.append(f"{device.id} at {row['time']}: {got} != {expected}")
    # Only the fleet's own devices: a test may store other traffic beside it (valid payloads
    # among the fuzzer's).
    return Tally(expected_total, arrived, lost, duplicated, wrong, tuple(problems))


def assert_exactly_sent(spine: Spine, fleet: list[GatewayConfig]) -> None:
    """Every device has exactly its ``samples`` points, each equal to what its signal gives."""
    result = tally(spine, fleet)
    assert result.lost == result.duplicated == result.wrong == 0, result
