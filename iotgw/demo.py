"""``iotgw demo``: the whole path on this machine, from simulated sensors to InfluxDB.

Starts Mosquitto and influxd on free loopback ports (data under ``.demo/``), an ingest
worker and a simulated fleet as separate ``iotgw`` processes, exactly as they would run
in the field, and prints how many readings arrived per gateway.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from gateway.config import BrokerConfig
from ingest import IngestConfig
from ingest.config import InfluxConfig, MqttConfig
from ingest.consumer import SUBSCRIBED
from iotgw.localstack import Influxd, IotgwProcess, Mosquitto
from simulators import simulated_fleet, write_config
from tsdb import InfluxClient, TsdbError
from tsdb.schema import TELEMETRY

DATABASE = "iotgw_demo"


def count_by_gateway(influx: InfluxClient, database: str) -> dict[str, int]:
    """Stored readings per gateway (0 while the database does not exist yet)."""
    try:
        series = influx.query(
            database, f'SELECT count("quality") FROM "{TELEMETRY}" GROUP BY "gateway"')
    except TsdbError:
        return {}
    return {s.tags["gateway"]: int(s.rows[0]["count"]) for s in series}


def demo(
    duration: Annotated[float, typer.Option(min=5, help="Seconds the fleet runs.")] = 60,
    gateways: Annotated[int, typer.Option(min=1, max=50)] = 3,
    devices: Annotated[int, typer.Option(min=1, max=200, help="Devices per gateway.")] = 10,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between readings.")] = 1.0,
    workdir: Annotated[Path, typer.Option(help="Where data and logs go.")] = Path(".demo"),
) -> None:
    """Run broker, database, ingest and a simulated fleet; print what arrived."""
    console = Console()
    workdir = workdir.resolve()
    with ExitStack() as stack:
        console.print("starting mosquitto and influxd ...")
        broker = Mosquitto(workdir / "mosquitto")
        influxd = Influxd(workdir / "influxd")
        for service in (broker, influxd):
            service.start()
            stack.callback(service.stop)
        ingest_cfg = IngestConfig(
            mqtt=MqttConfig(port=broker.port, client_id="demo-ingest-1", share_group="demo"),
            influx=InfluxConfig(url=influxd.url, database=DATABASE),
            dead_letter_path=workdir / "ingest" / "dead-letters.sqlite",
        )
        (workdir / "ingest").mkdir(parents=True, exist_ok=True)
        ingest = IotgwProcess(workdir / "ingest", "ingest", [
            "ingest", "run", "--config",
            str(write_config(ingest_cfg, workdir / "ingest" / "ingest.toml"))],
            ready_line=SUBSCRIBED)
        ingest.start()
        stack.callback(ingest.stop)
        fleet = simulated_fleet(
            gateways, devices, broker=BrokerConfig(port=broker.port),
            buffer_dir=workdir / "gateways", interval_s=interval, prefix="demo-gw",
        )
        agents = []
        for cfg in fleet:
            gw_dir = workdir / "gateways"
            gw_dir.mkdir(parents=True, exist_ok=True)
            path = write_config(cfg, gw_dir / f"{cfg.gateway_id}.toml")
            agent = IotgwProcess(gw_dir, cfg.gateway_id, ["gateway", "run", "--config", str(path)])
            agent.start()
            stack.callback(agent.stop)
            agents.append(agent)
        console.print(f"broker  mqtt://127.0.0.1:{broker.port}\ninfluxdb {influxd.url} "
                      f"(database {DATABASE})\nlogs    {workdir}")
        influx = stack.enter_context(InfluxClient(influxd.url))
        columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
        try:
            with Progress(*columns, console=console) as progress:
                task = progress.add_task("fleet running", total=duration)
                start = time.monotonic()
                while (elapsed := time.monotonic() - start) < duration:
                    stored = sum(count_by_gateway(influx, DATABASE).values())
                    progress.update(task, completed=elapsed,
                                    description=f"fleet running, {stored} readings stored")
                    time.sleep(1)
        except KeyboardInterrupt:
            console.print("interrupted: stopping the fleet")
        for agent in agents:
            agent.stop()
        time.sleep(2 * ingest_cfg.batch.max_wait_s + 0.5)  # the last batch's flush
        counts = count_by_gateway(influx, DATABASE)
        table = Table(title="Readings stored in InfluxDB")
        table.add_column("gateway")
        table.add_column("devices", justify="right")
        table.add_column("readings", justify="right")
        for cfg in fleet:
            table.add_row(cfg.gateway_id, str(len(cfg.devices)), str(counts.get(cfg.gateway_id, 0)))
        table.add_row("total", str(gateways * devices), str(sum(counts.values())), style="bold")
        console.print(table)
        console.print("stopping services ...")
