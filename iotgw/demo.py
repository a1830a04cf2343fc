"""``iotgw demo``: the whole path on this machine, from simulated sensors to indicators.

Starts Mosquitto and influxd on free loopback ports (data under ``.demo/``), registers a
province scenario's fleet (``simulators/scenarios/``, Đồng Tháp by default: farms,
cooperatives, pangasius ponds, salinity stations, smart-city wards, households) in a
fresh registry, and runs an ingest worker as its own ``iotgw`` process. The fleet then
sends 30 days of backdated readings (compressed time, through the gateways' real buffers
and the broker) and runs live for ``--duration`` seconds. The rollup turns that into
indicators; the demo prints what was stored and where every acknowledged reading went
(``iotgw.demo_ledger``), the province's indicator table for today and the dashboard's
address, and serves the dashboard until Ctrl-C (or ``--serve-for``).
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from iotgw.api import ApiConfig
from iotgw.api.auth import create_token
from iotgw.demo_ledger import fleet_devices, ledger
from iotgw.devices.links import RegistryLink
from iotgw.gateway.config import BrokerConfig
from iotgw.ingest import IngestConfig
from iotgw.ingest.config import InfluxConfig, MqttConfig
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.options import EXIT_RUNTIME, fail
from iotgw.processes import Influxd, IotgwProcess, Mosquitto, free_port
from iotgw.registry import ApiRole, make_engine, session_factory
from iotgw.rollup.catalogue import Catalogue
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.periods import VIETNAM, Period
from iotgw.rollup.service import RollupService
from iotgw.rollup.store import read_values
from iotgw.sim_cli import load_fleet, register, report_table, run_fleet
from iotgw.simulators import write_config
from iotgw.simulators.runner import RunFailed
from iotgw.tsdb import InfluxClient, TsdbError
from iotgw.tsdb.raw import count_readings

DATABASE = "iotgw_demo"


def stored_readings(influx: InfluxClient) -> int:
    """Readings stored so far (0 while the database does not exist yet)."""
    try:
        return count_readings(influx, DATABASE)
    except TsdbError:
        return 0


def indicator_table(influx: InfluxClient, catalogue: Catalogue, province: int, name: str,
                    day: dt.date) -> Table:
    """Today's value of every indicator for the province, next to its targets."""
    today = Period("day", day)
    values = {v.indicator: v for v in read_values(influx, DATABASE, None, province=province, period="day",
                                                  level="province", start_ms=today.start_ms,
                                                  end_ms=today.end_ms)}
    table = Table(title=f"Indicators, {name} ({province}), {day}")
    for column in ("indicator", "value", "numerator / denominator", "target", "plan line"):
        table.add_column(column)
    for ind in catalogue.indicators:
        row = values.get(ind.id)
        value = "-" if row is None else f"{row.value:.1f} {ind.unit}"
        ratio = "-" if row is None or row.denominator is None else (
            f"{row.numerator:g} / {row.denominator:g}")
        targets = ", ".join(f"{t.comparator} {t.value:g} by {t.year}" for t in ind.targets
                            if t.province in (None, province)) or "-"
        table.add_row(ind.name_vi, value, ratio, targets, f"{ind.sources[0].seed[:3]} L{ind.sources[0].line}")
    return table


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _ingest(workdir: Path, broker: Mosquitto, influx: InfluxConfig, registry_url: str) -> IotgwProcess:
    cfg = IngestConfig(
        mqtt=MqttConfig(port=broker.port, client_id="demo-ingest-1", share_group="demo"),
        influx=influx, registry=RegistryLink(url=registry_url),
        dead_letter_path=workdir / "ingest" / "dead-letters.sqlite",
    )
    (workdir / "ingest").mkdir(parents=True, exist_ok=True)
    return IotgwProcess(workdir / "ingest", "ingest", [
        "ingest", "run", "--config", str(write_config(cfg, workdir / "ingest" / "ingest.toml"))],
        ready_line=SUBSCRIBED)


def _rollup(console: Console, influx: InfluxConfig, registry_url: str) -> RollupService:
    rollup = RollupService(RollupConfig(influx=influx, registry=RegistryLink(url=registry_url)))
    rollup.prepare()
    hours, _ = rollup.pending_hours()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("rollup: days, then periods", total=rollup.steps(hours))
        rollup.run_once(lambda n: progress.advance(task, n))
    return rollup


def demo(
    scenario: Annotated[str, typer.Option(help="A bundled scenario or a scenario file.")] = "dong_thap",
    scale: Annotated[float, typer.Option(min=0.01, max=100, help="Multiplies the scenario's counts.")] = 1.0,
    history_days: Annotated[float, typer.Option(
        min=0, max=90, help="Days of backdated readings (compressed time).")] = 30,
    duration: Annotated[float, typer.Option(min=5, help="Seconds the fleet runs live.")] = 60,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between live readings.")] = 5.0,
    workdir: Annotated[Path, typer.Option(help="Where data and logs go.")] = Path(".demo"),
    serve_for: Annotated[float | None, typer.Option(
        min=0, help="Seconds to keep the dashboard up at the end (default: until Ctrl-C).")] = None,
) -> None:
    """Run broker, database, registry, ingest, a province's simulated fleet (history, then
    live), the rollup and the API; print what arrived, the indicator table and where the
    dashboard is."""
    console = Console()
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop is a Ctrl-C
    fleet = load_fleet(scenario, scale)
    province = fleet.scenario.province
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    # Each demo registers its fleet and stores its readings anew: an interrupted demo's
    # buffers and the broker's queue for its ingest session are left behind.
    (workdir / "registry.sqlite").unlink(missing_ok=True)
    for leftover in ("gateways", "mosquitto"):
        shutil.rmtree(workdir / leftover, ignore_errors=True)
    with ExitStack() as stack:
        console.print("starting mosquitto and influxd ...")
        broker = Mosquitto(workdir / "mosquitto")
        influxd = Influxd(workdir / "influxd")
        for service in (broker, influxd):
            service.start()
            stack.callback(service.stop)
        influx = stack.enter_context(InfluxClient(influxd.url))
        influx.query(None, f'DROP DATABASE "{DATABASE}"')
        registry_url = f"sqlite:///{workdir / 'registry.sqlite'}"
        console.print(f"registering {fleet.scenario.name}: {len(fleet.organisations)} organisations,"
                      f" {len(fleet.gateways)} gateways, {fleet.devices} devices ...")
        register(registry_url, fleet, history_days=history_days)
        engine = make_engine(registry_url)
        with session_factory(engine)() as session, session.begin():
            token = create_token(session, "demo-ministry", ApiRole.MINISTRY)
        engine.dispose()
        influx_cfg = InfluxConfig(url=influxd.url, database=DATABASE)
        ingest = _ingest(workdir, broker, influx_cfg, registry_url)
        ingest.start()
        stack.callback(ingest.stop)
        console.print(f"broker  mqtt://127.0.0.1:{broker.port}\ninfluxdb {influxd.url} "
                      f"(database {DATABASE})\nlogs    {workdir}")
        report = None  # none when interrupted: no ledger then
        try:
            report = run_fleet(console, fleet, broker=BrokerConfig(port=broker.port),
                               workdir=workdir / "gateways", history_days=history_days,
                               duration_s=duration, interval_s=interval, drain_timeout_s=900)
            console.print(report_table(fleet, report))
        except RunFailed as exc:
            raise fail(exc, EXIT_RUNTIME) from exc
        except KeyboardInterrupt:
            console.print("interrupted: stopping the fleet")
        time.sleep(1.5)  # ingest's last batch
        console.print(f"readings stored in InfluxDB: {stored_readings(influx)}")
        if report is not None:
            books = ledger(influx, DATABASE, workdir / "ingest" / "dead-letters.sqlite",
                           fleet_devices(registry_url), report.acked)
            console.print("\n".join(books.lines()), soft_wrap=True)
        rollup = _rollup(console, influx_cfg, registry_url)
        wide = Console(width=max(console.width, 150))  # Vietnamese names are long
        wide.print(indicator_table(influx, rollup.catalogue, province, fleet.scenario.name,
                                   dt.datetime.now(VIETNAM).date()))
        port = free_port()
        registry = RegistryLink(url=registry_url)
        api_cfg = write_config(ApiConfig(port=port, influx=influx_cfg, registry=registry),
                               workdir / "api.toml")
        api = IotgwProcess(workdir, "api", ["api", "run", "--config", str(api_cfg)],
                           ready_url=f"http://127.0.0.1:{port}/healthz")
        api.start()
        stack.callback(api.stop)
        # The token on its own line, never in an address (history, proxy logs keep those).
        console.print(f"dashboard http://127.0.0.1:{port}/?province={province}\n"
                      f"API docs  http://127.0.0.1:{port}/docs\n"
                      f"token     {token}\n"
                      "          (paste it into the dashboard's sign-in form, or /docs' Authorize)",
                      soft_wrap=True)
        try:
            if serve_for is None:
                console.print("Ctrl-C stops everything.")
                while True:
                    time.sleep(3600)
            time.sleep(serve_for)
        except KeyboardInterrupt:
            pass
        console.print("stopping services ...")
