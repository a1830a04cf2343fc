"""``iotgw demo``: the whole path on this machine, from simulated sensors to indicators.

Starts Mosquitto and influxd on free loopback ports (data under ``.demo/``), registers a
simulated fleet in Đồng Tháp in a registry (farms with soil probes, air stations,
households with smart meters), runs an ingest worker and the fleet as separate ``iotgw``
processes, exactly as they would run in the field, then the rollup and the API. It prints
how many readings arrived per gateway, the province's indicator table for today and the
dashboard's address, and serves the dashboard until Ctrl-C (or ``--serve-for``).
"""

from __future__ import annotations

import datetime as dt
import signal
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from api import ApiConfig
from api.auth import create_token
from gateway import GatewayConfig
from gateway.config import BrokerConfig
from ingest import IngestConfig
from ingest.config import InfluxConfig, MqttConfig, RegistryLink
from ingest.consumer import SUBSCRIBED
from iotgw.localstack import Influxd, IotgwProcess, Mosquitto, free_port
from registry import (
    ApiRole,
    Device,
    Gateway,
    Organisation,
    OrgType,
    Sector,
    SubjectKind,
    Ward,
    make_engine,
    place,
    seed_admin_units,
    session_factory,
    upgrade,
)
from rollup.catalogue import Catalogue
from rollup.config import RollupConfig
from rollup.periods import VIETNAM, Period
from rollup.service import RollupService
from simulators import simulated_fleet, write_config
from tsdb import InfluxClient, TsdbError
from tsdb.schema import INDICATORS, ROLLUP_RP, TELEMETRY

DATABASE = "iotgw_demo"
PROVINCE = 82  # Đồng Tháp


def count_by_gateway(influx: InfluxClient, database: str) -> dict[str, int]:
    """Stored readings per gateway (0 while the database does not exist yet)."""
    try:
        series = influx.query(
            database, f'SELECT count("quality") FROM "{TELEMETRY}" GROUP BY "gateway"')
    except TsdbError:
        return {}
    return {s.tags["gateway"]: int(s.rows[0]["count"]) for s in series}


def register_fleet(url: str, fleet: list[GatewayConfig], interval_s: float) -> str:
    """The fleet in a fresh registry, in communes of Đồng Tháp; returns a ministry token."""
    engine = make_engine(url)
    upgrade(engine)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    owner = {"soil_probe": (OrgType.FARM, Sector.AGRICULTURE),
             "electricity_meter": (OrgType.HOUSEHOLD_METER_POINT, Sector.ENERGY),
             "water_meter": (OrgType.HOUSEHOLD_METER_POINT, Sector.WATER)}
    with session_factory(engine)() as session, session.begin():
        seed_admin_units(session)
        wards = list(session.scalars(select(Ward.code).where(Ward.province_code == PROVINCE)
                                     .order_by(Ward.code)))
        for g, cfg in enumerate(fleet):
            ward = wards[(g * 7) % len(wards)]
            session.add(Gateway(id=cfg.gateway_id, installed_on=since.date()))
            session.flush()
            place(session, SubjectKind.GATEWAY, cfg.gateway_id, at=since, ward_code=ward)
            for device in cfg.devices:
                org_type, sector = owner.get(device.profile, (None, Sector.ENVIRONMENT))
                org_id = f"{device.id}-org" if org_type else None
                if org_type:
                    session.add(Organisation(id=org_id, name=org_id, type=org_type, sector=sector))
                    session.flush()
                    place(session, SubjectKind.ORGANISATION, org_id, at=since, ward_code=ward)
                session.add(Device(id=device.id, profile=device.profile, sector=sector,
                                   expected_interval_s=max(1, round(interval_s)),
                                   installed_on=since.date()))
                session.flush()
                place(session, SubjectKind.DEVICE, device.id, at=since, ward_code=ward,
                      organisation_id=org_id, gateway_id=cfg.gateway_id)
        return create_token(session, "demo-ministry", ApiRole.MINISTRY)


def indicator_table(influx: InfluxClient, catalogue: Catalogue, day: dt.date) -> Table:
    """Today's value of every indicator for the province, next to its targets."""
    series = influx.query(DATABASE, (
        f'SELECT "value", "numerator", "denominator" FROM "{ROLLUP_RP}"."{INDICATORS}"'
        f" WHERE \"period\" = 'day' AND \"level\" = 'province' AND \"province\" = '{PROVINCE}'"
        f' AND time = {Period("day", day).start_ms}ms GROUP BY "indicator"'))
    values = {s.tags["indicator"]: s.rows[0] for s in series}
    table = Table(title=f"Indicators, Đồng Tháp ({PROVINCE}), {day}")
    for column in ("indicator", "value", "numerator / denominator", "target", "plan line"):
        table.add_column(column)
    for ind in catalogue.indicators:
        row = values.get(ind.id)
        value = "-" if row is None else f"{row['value']:.1f} {ind.unit}"
        ratio = "-" if row is None or row["denominator"] is None else (
            f"{row['numerator']:g} / {row['denominator']:g}")
        targets = ", ".join(f"{t.comparator} {t.value:g} by {t.year}" for t in ind.targets
                            if t.province in (None, PROVINCE)) or "-"
        table.add_row(ind.name_vi, value, ratio, targets, f"{ind.sources[0].seed[:3]} L{ind.sources[0].line}")
    return table


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def demo(
    duration: Annotated[float, typer.Option(min=5, help="Seconds the fleet runs.")] = 60,
    gateways: Annotated[int, typer.Option(min=1, max=50)] = 3,
    devices: Annotated[int, typer.Option(min=1, max=200, help="Devices per gateway.")] = 10,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between readings.")] = 1.0,
    workdir: Annotated[Path, typer.Option(help="Where data and logs go.")] = Path(".demo"),
    serve_for: Annotated[float | None, typer.Option(
        min=0, help="Seconds to keep the dashboard up at the end (default: until Ctrl-C).")] = None,
) -> None:
    """Run broker, database, registry, ingest, a simulated fleet, the rollup and the API;
    print what arrived, the indicator table and where the dashboard is."""
    console = Console()
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop is a Ctrl-C
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "registry.sqlite").unlink(missing_ok=True)  # each demo registers its fleet anew
    with ExitStack() as stack:
        console.print("starting mosquitto and influxd ...")
        broker = Mosquitto(workdir / "mosquitto")
        influxd = Influxd(workdir / "influxd")
        for service in (broker, influxd):
            service.start()
            stack.callback(service.stop)
        fleet = simulated_fleet(
            gateways, devices, broker=BrokerConfig(port=broker.port),
            buffer_dir=workdir / "gateways", interval_s=interval, prefix="demo-gw",
        )
        with InfluxClient(influxd.url) as influx:
            influx.query(None, f'DROP DATABASE "{DATABASE}"')  # and stores its readings anew
        registry_url = f"sqlite:///{workdir / 'registry.sqlite'}"
        console.print("registering the fleet in Đồng Tháp ...")
        token = register_fleet(registry_url, fleet, interval)
        influx_cfg = InfluxConfig(url=influxd.url, database=DATABASE)
        ingest_cfg = IngestConfig(
            mqtt=MqttConfig(port=broker.port, client_id="demo-ingest-1", share_group="demo"),
            influx=influx_cfg, registry=RegistryLink(url=registry_url),
            dead_letter_path=workdir / "ingest" / "dead-letters.sqlite",
        )
        (workdir / "ingest").mkdir(parents=True, exist_ok=True)
        ingest = IotgwProcess(workdir / "ingest", "ingest", [
            "ingest", "run", "--config",
            str(write_config(ingest_cfg, workdir / "ingest" / "ingest.toml"))],
            ready_line=SUBSCRIBED)
        ingest.start()
        stack.callback(ingest.stop)
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

        console.print("rolling up ...")
        rollup = RollupService(RollupConfig(influx=influx_cfg, registry_url=registry_url))
        rollup.prepare()
        rollup.run_once()
        wide = Console(width=max(console.width, 150))  # Vietnamese names are long
        wide.print(indicator_table(influx, rollup.catalogue, dt.datetime.now(VIETNAM).date()))
        port = free_port()
        api_cfg = write_config(ApiConfig(port=port, influx=influx_cfg, registry_url=registry_url),
                               workdir / "api.toml")
        api = IotgwProcess(workdir, "api", ["api", "run", "--config", str(api_cfg)],
                           ready_url=f"http://127.0.0.1:{port}/healthz")
        api.start()
        stack.callback(api.stop)
        console.print(f"dashboard http://127.0.0.1:{port}/?token={token}&province={PROVINCE}\n"
                      f"API docs  http://127.0.0.1:{port}/docs  (token {token})")
        try:
            if serve_for is None:
                console.print("Ctrl-C stops everything.")
                while True:
                    time.sleep(3600)
            time.sleep(serve_for)
        except KeyboardInterrupt:
            pass
        console.print("stopping services ...")
