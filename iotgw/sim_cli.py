"""``iotgw sim``: run a province scenario's simulated fleet against a broker.

``iotgw sim run dong_thap --history-days 30 --duration 600`` generates 30 days of the
fleet's readings into the gateways' buffers (compressed time), then runs the real agents
live for 10 minutes, and returns once the broker has acknowledged every reading. With
``--registry`` the fleet is registered first, so that ingest can enrich and check it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from iotgw.devices import ConfigError
from iotgw.devices.register_maps import UnknownModel, resolve_map
from iotgw.gateway.config import BrokerConfig
from iotgw.options import EXIT_CONFIG, EXIT_RUNTIME, JsonOption, fail, print_json
from iotgw.registry import RegistryError, make_engine, session_factory, upgrade
from iotgw.scenario_registry import register_fleet
from iotgw.simulators.history import DAY_MS
from iotgw.simulators.modbus_device import ModbusDeviceSimulator, map_values, serve_until
from iotgw.simulators.runner import FleetRunner, Report, RunFailed, live_samples, with_samples
from iotgw.simulators.scenario import Fleet, build_fleet, bundled_scenarios, gateway_configs, load_scenario

sim_app = typer.Typer(help="Simulated fleets from province scenarios.", no_args_is_help=True)

ScenarioArg = Annotated[str, typer.Argument(
    help=f"A bundled scenario ({', '.join(bundled_scenarios())}) or a scenario TOML file.")]
Scale = Annotated[float, typer.Option(min=0.01, max=1_000, help="Multiplies every site count.")]


def parse_broker(address: str) -> BrokerConfig:
    """``host:port``, ``[v6 literal]:port`` or a host alone (port 1883)."""
    host, sep, port = address.rpartition(":")
    if not sep or (host.count(":") and not host.startswith("[")):  # no port, or a bare v6 literal
        host, port = address, "1883"
    try:
        return BrokerConfig(host=host, port=int(port))
    except ValueError as exc:
        raise typer.BadParameter(f"{address!r}: expected host:port, [v6]:port or host",
                                 param_hint="--broker") from exc


def load_fleet(scenario: str, scale: float) -> Fleet:
    try:
        return build_fleet(load_scenario(scenario), scale=scale)
    except ConfigError as exc:
        raise fail(exc, EXIT_CONFIG) from exc


def register(url: str, fleet: Fleet, *, history_days: float) -> None:
    """The fleet in the registry at ``url``, installed a day before its history starts."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=history_days + 1)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session, session.begin():
            register_fleet(session, fleet, since=since)
    except (ConfigError, RegistryError) as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    finally:
        engine.dispose()


def run_fleet(
    out: Console, fleet: Fleet, *, broker: BrokerConfig, workdir: Path, history_days: float,
    duration_s: float, interval_s: float, drain_timeout_s: float,
) -> Report:
    """History into the buffers, then the live fleet until drained, with progress bars.
    The agents log to ``workdir/gateways.log``: hundreds of them would drown the bars.

    Raises: RunFailed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    agents_log = logging.getLogger("iotgw.gateway")
    handler = logging.FileHandler(workdir / "gateways.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s: %(message)s"))
    agents_log.addHandler(handler)
    agents_log.propagate = False
    try:
        return _run_fleet(out, fleet, broker=broker, workdir=workdir, history_days=history_days,
                          duration_s=duration_s, interval_s=interval_s, drain_timeout_s=drain_timeout_s)
    finally:
        agents_log.removeHandler(handler)
        agents_log.propagate = True
        handler.close()


def _run_fleet(
    out: Console, fleet: Fleet, *, broker: BrokerConfig, workdir: Path, history_days: float,
    duration_s: float, interval_s: float, drain_timeout_s: float,
) -> Report:
    samples = live_samples(duration_s, interval_s)
    configs = with_samples(gateway_configs(fleet, broker=broker, buffer_dir=workdir, interval_s=interval_s),
                           samples)
    runner = FleetRunner(fleet, configs)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out) as progress:
        if history_days > 0:
            span = int(history_days * DAY_MS)
            task = progress.add_task(f"history, {history_days:g} days (simulated hours)",
                                     total=len(configs) * span // 3_600_000)
            runner.backfill(days=history_days, now_ms=int(time.time() * 1000),
                            on_progress=lambda ms: progress.advance(task, ms / 3_600_000))
        expected = runner.report.history["read"] + samples * fleet.devices
        task = progress.add_task("published (acknowledged readings)", total=expected)
        report = runner.run(
            live_s=duration_s, timeout_s=duration_s + drain_timeout_s,
            malformed_per_gateway=runner.malformed_count(history_days + duration_s / 86_400),
            on_progress=lambda read, acked: progress.update(task, completed=acked))
    return report


def report_table(fleet: Fleet, report: Report) -> Table:
    table = Table(title=f"Simulated fleet: {fleet.scenario.name} ({len(fleet.gateways)} gateways,"
                        f" {fleet.devices} devices)")
    table.add_column("what")
    table.add_column("count", justify="right")
    buffer = {"dropped_age": "buffer: dropped, older than max_age_s (1970 clocks)",
              "dropped_full": "buffer: dropped, full", "refused": "buffer: refused, full"}
    rows = [("history readings generated", report.history["read"]),
            ("history readings not taken (gateway offline)", report.history["offline"]),
            *((f"device fault: {k}", v) for k, v in sorted(report.history.items())
              if k not in {"read", "offline", *buffer}),
            *((buffer[k], report.history[k]) for k in buffer if report.history[k]),
            ("live readings read", report.live_read),
            ("live power cuts (gateway offline windows)", report.power_cuts),
            ("readings acknowledged by the broker", report.acked),
            *((f"malformed payload: {k}", v) for k, v in sorted(report.malformed.items()))]
    for what, count in rows:
        table.add_row(what, str(count))
    return table


@sim_app.command("list")
def sim_list(scale: Scale = 1.0, as_json: JsonOption = False) -> None:
    """The bundled scenarios and the size of their fleets at ``--scale``."""
    rows = []
    for name in bundled_scenarios():
        fleet = load_fleet(name, scale)
        rows.append({"scenario": name, "name": fleet.scenario.name, "province": fleet.scenario.province,
                     "organisations": len(fleet.organisations), "gateways": len(fleet.gateways),
                     "devices": fleet.devices})
    if as_json:
        print_json(rows)
        return
    table = Table("scenario", "province", "organisations", "gateways", "devices")
    for row in rows:
        table.add_row(row["scenario"], f"{row['name']} ({row['province']})", str(row["organisations"]),
                      str(row["gateways"]), str(row["devices"]))
    Console().print(table)


@sim_app.command("run")
def sim_run(
    scenario: ScenarioArg,
    broker: Annotated[str, typer.Option(help="host:port of the MQTT broker.")] = "127.0.0.1:1883",
    scale: Scale = 1.0,
    history_days: Annotated[float, typer.Option(min=0, max=90, help="Days of backdated readings.")] = 0,
    duration: Annotated[float, typer.Option(min=0, help="Seconds of live readings.")] = 60,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between live readings.")] = 10,
    workdir: Annotated[Path, typer.Option(help="Where the gateways' buffers go.")] = Path(".sim"),
    registry: Annotated[str | None, typer.Option(
        help="Register the fleet in this registry first (SQLAlchemy URL).")] = None,
    drain_timeout: Annotated[float, typer.Option(
        min=1, help="Seconds allowed after the live phase for the buffers to drain.")] = 600,
) -> None:
    """Run SCENARIO's fleet: history (compressed time), then live, until all is delivered."""
    fleet = load_fleet(scenario, scale)
    target = parse_broker(broker)
    if registry is not None:
        register(registry, fleet, history_days=history_days)
    out = Console()
    try:
        report = run_fleet(out, fleet, broker=target, workdir=workdir, history_days=history_days,
                           duration_s=duration, interval_s=interval, drain_timeout_s=drain_timeout)
    except RunFailed as exc:
        raise fail(exc, EXIT_RUNTIME) from exc
    out.print(report_table(fleet, report))


@sim_app.command("modbus")
def sim_modbus(
    map_spec: Annotated[str, typer.Option("--map", help=(
        "A model of the device library (devices/library/, e.g. eastron_sdm630m) or a map file."))],
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Serve Modbus TCP on this port.")] = None,
    serial: Annotated[str | None, typer.Option(help="Serve Modbus RTU on this serial port.")] = None,
    host: Annotated[str, typer.Option(help="TCP address to listen on (0.0.0.0: all).")] = "127.0.0.1",
    baudrate: Annotated[int, typer.Option(min=1200, max=921_600)] = 9600,
    unit_id: Annotated[int, typer.Option(min=1, max=247)] = 1,
    duration: Annotated[float | None, typer.Option(
        min=0, help="Seconds to serve (default: until Ctrl-C).")] = None,
) -> None:
    """Serve a register map with plausible changing values, for bench tests of a gateway's
    Modbus reads over TCP or a real RS-485 adapter (--serial /dev/ttyUSB0)."""
    if (port is None) == (serial is None):
        raise typer.BadParameter("give either --port (Modbus TCP) or --serial (Modbus RTU)",
                                 param_hint="--port/--serial")
    try:
        register_map = resolve_map(map_spec)
    except (ConfigError, UnknownModel) as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    device = ModbusDeviceSimulator(register_map, map_values(register_map), unit_id=unit_id, tcp_port=port,
                                   serial_port=serial, baudrate=baudrate, host=host)
    title = f"{register_map.vendor} {register_map.model} ({register_map.profile}), unit {unit_id}"
    table = Table("function", "address", "type", "quantity", "unit", title=title)
    for reg in register_map.registers:
        table.add_row(str(reg.function), str(reg.address), reg.type, reg.quantity, reg.unit)
    out = Console()
    out.print(table)
    out.print(f"serving on {f'{host}:{port}' if port else serial}", highlight=False)
    serve_until(device, duration)
