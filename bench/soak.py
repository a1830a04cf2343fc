"""Soak: the whole path for a long time, watching the memory of the gateway, ingest and
the API. A leak shows as resident memory that keeps growing after warm-up, so the figure
is each process's RSS at the end as a ratio of its RSS after the first tenth of the run
(the baseline, measured in the same run): about 1.0 is flat. Not run in CI.

The gateway reads 200 simulated devices every second, ingest stores them, and an API
client asks for indicator values and coverage once a second.

Usage: python bench/soak.py [--minutes 30] [--sample-s 30]
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from harness import bench, options  # a sibling script: bench/ is on sys.path
from iotgw.api import ApiConfig
from iotgw.api.auth import create_token
from iotgw.devices.links import RegistryLink
from iotgw.gateway.config import BrokerConfig
from iotgw.ingest import IngestConfig
from iotgw.ingest.config import InfluxConfig, MqttConfig
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.registry import ApiRole, make_engine, seed_admin_units, session_factory, upgrade
from iotgw.simulators import simulated_fleet, write_config

from iotgw.processes import IotgwProcess, free_port


def rss(pid: int) -> int:
    """Current resident bytes of a live process (Linux)."""
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def main() -> None:
    args = options(__doc__, minutes=30.0, sample_s=30.0)
    with bench("soak", broker=True, influxd=True) as running:
        work, broker, influxd = running.work, running.broker, running.influxd
        url = f"sqlite:///{work / 'registry.sqlite'}"
        upgrade(make_engine(url))
        with session_factory(make_engine(url))() as session, session.begin():
            seed_admin_units(session)
            token = create_token(session, "soak", ApiRole.MINISTRY)
        influx = InfluxConfig(url=influxd.url, database="soak")
        ingest = IngestConfig(mqtt=MqttConfig(port=broker.port, client_id="soak-ingest"), influx=influx,
                              dead_letter_path=work / "dead.sqlite")
        [gateway] = simulated_fleet(1, 200, broker=BrokerConfig(port=broker.port), buffer_dir=work,
                                    interval_s=1.0, prefix="soak")
        port = free_port()
        processes = [
            IotgwProcess(work, "ingest", ["ingest", "run", "--config", str(
                write_config(ingest, work / "ingest.toml"))], ready_line=SUBSCRIBED),
            IotgwProcess(work, "gateway", ["gateway", "run", "--config",
                                           str(write_config(gateway, work / "gateway.toml"))]),
            IotgwProcess(work, "api", ["api", "run", "--config", str(write_config(
                ApiConfig(port=port, influx=influx, registry=RegistryLink(url=url)), work / "api.toml"))],
                ready_url=f"http://127.0.0.1:{port}/healthz"),
        ]
        for proc in processes:
            running.start(proc)
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"})
        end = time.monotonic() + args.minutes * 60
        warm = time.monotonic() + args.minutes * 6
        baseline: dict[str, int] = {}
        next_sample = time.monotonic()
        print(f"{'minute':>6}  " + "  ".join(f"{p.name + ' MB':>10}" for p in processes))
        while time.monotonic() < end:
            api.get("/v1/indicators/active_iot_devices/values", params={"province": 82})
            api.get("/v1/provinces/82/coverage")
            if time.monotonic() >= next_sample:
                next_sample += args.sample_s
                now = {p.name: rss(p.proc.pid) for p in processes}
                if not baseline and time.monotonic() >= warm:
                    baseline = now
                minute = (args.minutes * 60 - (end - time.monotonic())) / 60
                print(f"{minute:6.1f}  " + "  ".join(f"{now[p.name] / 1e6:10.1f}" for p in processes),
                      flush=True)
            time.sleep(1.0)
        final = {p.name: rss(p.proc.pid) for p in processes}
        baseline = baseline or final
        for proc in processes:
            print(f"{proc.name}: RSS {final[proc.name] / 1e6:.1f} MB at the end,"
                  f" {final[proc.name] / baseline[proc.name]:.2f} of its RSS after warm-up")


if __name__ == "__main__":
    main()
