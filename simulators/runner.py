"""Run a scenario's fleet: compressed history into the gateways' buffers, then the real
agents, live, until every reading is acknowledged by the broker.

The agents are ``gateway.Agent`` instances, each in its own thread of this process with
its own buffer and MQTT connection, exactly as on a field gateway but without a process
per gateway (a fleet of hundreds of gateways fits one machine). A gateway inside one of
its offline windows is stopped, as a power cut would, and started again from its buffer
at the window's end. Malformed payloads are published on the gateways' topics while the
fleet runs, counted by kind.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from iotgw.devices import telemetry_topic
from iotgw.gateway import Agent, GatewayConfig
from iotgw.simulators.history import DAY_MS, Window, backfill, offline_windows
from iotgw.simulators.malformed import malformed
from iotgw.simulators.scenario import Fleet
from iotgw.simulators.source import SimulatedSource

_TICK_S = 0.2


class RunFailed(RuntimeError):
    """An agent stopped with an error, or the fleet did not drain in time."""


@dataclass
class Report:
    history: Counter[str] = field(default_factory=Counter)  # read, offline, faults, drops
    live_read: int = 0
    acked: int = 0
    malformed: Counter[str] = field(default_factory=Counter)  # kind -> sent
    power_cuts: int = 0  # live offline windows applied


class _Gateway:
    """One agent thread, stoppable (a power cut) and restartable from its buffer."""

    def __init__(self, config: GatewayConfig, windows: list[Window]) -> None:
        self.config = config
        self.windows = windows
        self.read = self.acked = 0  # over the agent's lives
        self.done = False
        self.error: BaseException | None = None
        self._agent: Agent | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,),
                                        name=self.config.gateway_id, daemon=True)
        self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        try:  # the agent's buffer (SQLite) must be opened in the thread that uses it
            self._agent = Agent(self.config, [SimulatedSource(d) for d in self.config.devices])
            self._agent.run(stop, exit_when_drained=True)
            self.done = not stop.is_set()
        except BaseException as exc:  # reported by the runner, which owns the threads
            self.error = exc

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout_s)
        if self._agent is not None:
            self.read += self._agent.stats.read
            self.acked += self._agent.stats.acked
        self._thread = self._agent = None

    def counted(self) -> tuple[int, int]:
        """Readings read and acknowledged so far, this life included."""
        stats = self._agent.stats if self._agent is not None else None
        return (self.read + (stats.read if stats else 0), self.acked + (stats.acked if stats else 0))

    def offline_at(self, now_ms: int) -> bool:
        return any(start <= now_ms < end for start, end in self.windows)


def live_samples(duration_s: float, interval_s: float) -> int:
    """Readings per device in a live phase of ``duration_s``: at least one, so that every
    device shows it is alive now."""
    return max(1, math.ceil(duration_s / interval_s))


def with_samples(configs: list[GatewayConfig], samples: int) -> list[GatewayConfig]:
    """The gateways with each device reading ``samples`` times live, so that the run ends."""
    return [c.model_copy(update={"devices": [d.model_copy(update={"samples": samples}) for d in c.devices]})
            for c in configs]


class FleetRunner:
    def __init__(self, fleet: Fleet, configs: list[GatewayConfig]) -> None:
        self.fleet = fleet
        self.configs = configs
        self.report = Report()

    def backfill(self, *, days: float, now_ms: int,
                 on_progress: Callable[[int], None] = lambda _: None) -> Counter[str]:
        """``days`` of history up to ``now_ms`` into every gateway's buffer."""
        start = now_ms - int(days * DAY_MS)
        scenario = self.fleet.scenario
        for config in self.configs:
            windows = offline_windows(config.gateway_id, scenario.seed, scenario.faults, start, now_ms)
            self.report.history += backfill(config, start_ms=start, end_ms=now_ms,
                                            interval_s=scenario.interval_s, windows=windows,
                                            now_ms=now_ms, on_progress=on_progress)
        return self.report.history

    def malformed_count(self, days: float) -> int:
        """Malformed payloads per gateway for a run covering ``days``, at the scenario's rate."""
        return round(self.fleet.scenario.faults.malformed_per_day * days)

    def run(
        self, *, live_s: float, timeout_s: float, malformed_per_gateway: int = 0,
        windows: dict[str, list[Window]] | None = None,
        on_progress: Callable[[int, int], None] = lambda read, acked: None,
    ) -> Report:
        """Start every agent and wait until each has read its samples and the broker has
        acknowledged everything it buffered (history included). ``windows``: live offline
        windows per gateway (epoch ms); by default the scenario's within the next ``live_s``,
        the live phase: a gateway whose outage outlasts it comes back at its end and drains,
        rather than holding the run until ``timeout_s``.

        Raises: RunFailed when an agent fails or the fleet has not drained in ``timeout_s``.
        """
        now_ms = int(time.time() * 1000)
        scenario = self.fleet.scenario
        if windows is None:
            windows = {c.gateway_id: offline_windows(c.gateway_id, scenario.seed, scenario.faults,
                                                     now_ms, now_ms + int(live_s * 1000))
                       for c in self.configs}
        gateways = [_Gateway(c, windows.get(c.gateway_id, [])) for c in self.configs]
        deadline = time.monotonic() + timeout_s
        try:
            self._send_malformed(malformed_per_gateway)
            while not all(g.done for g in gateways):
                if time.monotonic() > deadline:
                    raise RunFailed(f"{sum(not g.done for g in gateways)} gateways not drained"
                                    f" after {timeout_s:.0f}s")
                self._tick(gateways, int(time.time() * 1000))
                read, acked = map(sum, zip(*(g.counted() for g in gateways), strict=True))
                on_progress(read, acked)
                time.sleep(_TICK_S)
        finally:
            for gateway in gateways:
                gateway.stop()
        self.report.live_read = sum(g.read for g in gateways)
        self.report.acked = sum(g.acked for g in gateways)
        return self.report

    def _tick(self, gateways: list[_Gateway], now_ms: int) -> None:
        for gateway in gateways:
            if gateway.error is not None:
                raise RunFailed(f"gateway {gateway.config.gateway_id}: {gateway.error}") from gateway.error
            if gateway.done:
                continue
            off = gateway.offline_at(now_ms)
            if off and gateway.running:
                gateway.stop()
                self.report.power_cuts += 1
            elif not off and not gateway.running:
                gateway.start()

    def _send_malformed(self, per_gateway: int) -> None:
        """Publish the malformed payloads (QoS 1, each acknowledged) before the fleet starts,
        so that they sit in the broker's stream among the good batches."""
        if per_gateway == 0:
            return
        broker = self.configs[0].broker
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sim-malformed",
                             protocol=mqtt.MQTTv5)
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls is not None:
            client.tls_set(ca_certs=str(broker.tls.ca_file),
                           certfile=str(broker.tls.cert_file) if broker.tls.cert_file else None,
                           keyfile=str(broker.tls.key_file) if broker.tls.key_file else None)
        client.connect(broker.host, broker.port)
        client.loop_start()
        try:
            for config in self.configs:
                for kind, payload in malformed(config.gateway_id, per_gateway):
                    info = client.publish(telemetry_topic(config.gateway_id), payload, qos=1)
                    info.wait_for_publish(timeout=10)
                    if not info.is_published():
                        raise RunFailed(f"malformed payload not acknowledged by the broker at"
                                        f" {broker.host}:{broker.port}")
                    self.report.malformed[kind] += 1
        finally:
            client.loop_stop()
            client.disconnect()
