"""The ``iotgw`` command line: parse arguments, load settings, build, run, map errors to exit codes."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from devices import ConfigError
from ingest import DeadLetterStore, IngestError, IngestService, load_ingest_config, retire_session
from ingest.replay import replay_dead_letters
from iotgw.api_cli import api_app
from iotgw.demo import demo
from iotgw.gateway_cli import gateway_app
from iotgw.options import (
    DEFAULT_REGISTRY,
    EXIT_CONFIG,
    EXIT_RUNTIME,
    ConfigOption,
    RegistryUrl,
    configure_logging,
    console,
    fail,
    load_or_exit,
    stop_on_signals,
)
from iotgw.provision import app as provision_app
from iotgw.rollup_cli import indicators_app, rollup_app
from iotgw.sim_cli import sim_app
from iotgw.supervisor import Supervisor
from registry import (
    RegistryError,
    make_engine,
    reassign_all_retired,
    seed_admin_units,
    session_factory,
    upgrade,
)
from registry.csv_export import export_csv
from registry.csv_import import import_csv
from tsdb import TsdbError

app = typer.Typer(help="IoT data-collection gateway and indicator platform.", no_args_is_help=True)
ingest_app = typer.Typer(help="The service that stores telemetry in InfluxDB.", no_args_is_help=True)
registry_app = typer.Typer(help="Administrative units, organisations, gateways and devices.",
                           no_args_is_help=True)
app.add_typer(gateway_app, name="gateway")
app.add_typer(ingest_app, name="ingest")
app.add_typer(registry_app, name="registry")
app.add_typer(provision_app, name="provision")
app.add_typer(rollup_app, name="rollup")
app.add_typer(indicators_app, name="indicators")
app.add_typer(api_app, name="api")
app.add_typer(sim_app, name="sim")






class ImportKind(StrEnum):
    ORGANISATIONS = "organisations"
    GATEWAYS = "gateways"
    DEVICES = "devices"
    REFERENCE_COUNTS = "reference_counts"
    SUCCESSIONS = "successions"




app.callback()(configure_logging)


@ingest_app.command("run")
def ingest_run(
    config: ConfigOption,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Worker processes on the shared subscription, each restarted if it dies.",
    )] = 1,
    worker_index: Annotated[int | None, typer.Option(
        min=1, hidden=True, help="Set by --workers: this process's number.")] = None,
) -> None:
    """Consume telemetry from the broker and store it in InfluxDB."""
    cfg = load_or_exit(load_ingest_config, config)
    if workers > 1:
        Supervisor(config, workers).run(stop_on_signals())
        return
    if worker_index is not None:
        mqtt = cfg.mqtt.model_copy(update={"client_id": f"{cfg.mqtt.client_id}-{worker_index}"})
        metrics = cfg.metrics
        if metrics.port is not None:
            metrics = metrics.model_copy(update={"port": metrics.port + worker_index - 1})
        cfg = cfg.model_copy(update={"mqtt": mqtt, "metrics": metrics})
    try:
        IngestService(cfg).run(stop_on_signals())
    except (IngestError, TsdbError) as exc:
        raise fail(exc, EXIT_RUNTIME) from exc


@ingest_app.command("retire")
def ingest_retire(config: ConfigOption) -> None:
    """End this worker's persistent session for good (the worker is being removed)."""
    cfg = load_or_exit(load_ingest_config, config)
    if not retire_session(cfg.mqtt):
        raise fail(RuntimeError(f"broker {cfg.mqtt.host}:{cfg.mqtt.port} did not answer"),
                    EXIT_RUNTIME)
    console.print(f"session of {cfg.mqtt.client_id} retired")


@ingest_app.command("dead-letters")
def ingest_dead_letters(
    config: ConfigOption,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
) -> None:
    """List what ingest could not store, oldest first, with the reason."""
    try:
        cfg = load_ingest_config(config)
        store = DeadLetterStore(cfg.dead_letter_path, cfg.dead_letters)
    except ConfigError as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    except IngestError as exc:
        raise fail(exc, EXIT_RUNTIME) from exc
    out = Console()
    out.print(f"{store.count()} dead letters in {cfg.dead_letter_path}")
    gateways = store.per_gateway()
    if gateways:
        out.print("per gateway: " + ", ".join(f"{gw or '(no gateway)'} {n}" for gw, n in gateways.items()),
                  highlight=False)
    for letter in store.list(limit=limit):
        preview = letter.payload[:80].decode("utf-8", errors="replace")
        out.print(f"#{letter.id} {letter.topic}: {letter.reason}\n    {preview!r}", highlight=False)
    store.close()


@ingest_app.command("replay")
def ingest_replay(
    config: ConfigOption,
    limit: Annotated[int, typer.Option(min=1, help="Replay at most this many, oldest first.")] = 10_000,
) -> None:
    """Send dead letters through the broker again, after a fix; each is deleted once the
    broker accepted it (if still bad, it comes back with a new reason)."""
    try:
        cfg = load_ingest_config(config)
        result = replay_dead_letters(DeadLetterStore(cfg.dead_letter_path, cfg.dead_letters), cfg.mqtt,
                                     limit=limit)
    except ConfigError as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    except IngestError as exc:
        raise fail(exc, EXIT_RUNTIME) from exc
    for letter_id, why in result.kept.items():
        console.print(f"#{letter_id} kept: {why}")
    console.print(f"replayed {len(result.replayed)}, kept {len(result.kept)}")


@registry_app.command("init")
def registry_init(url: RegistryUrl = DEFAULT_REGISTRY) -> None:
    """Create or migrate the registry schema and load the 2025 administrative units."""
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        provinces, wards = seed_admin_units(session)
    console.print(f"registry ready: {provinces} provinces, {wards} communes and wards")


@registry_app.command("import")
def registry_import(
    kind: Annotated[ImportKind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    url: RegistryUrl = DEFAULT_REGISTRY,
) -> None:
    """Import a CSV file: all rows or, if any row is bad, none (every bad line is listed)."""
    with file.open(encoding="utf-8-sig", newline="") as handle:
        total = max(0, sum(1 for _ in handle) - 1)
    engine = make_engine(url)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with (Progress(*columns, console=console) as progress,
              session_factory(engine)() as session, session.begin(),
              file.open(encoding="utf-8-sig", newline="") as handle):
            task = progress.add_task(f"checking {file.name}", total=total)
            count = import_csv(session, kind.value, handle, source=str(file),
                               progress=lambda n: progress.advance(task, n))
    except RegistryError as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    console.print(f"imported {count} {kind.value} from {file}")


@registry_app.command("export")
def registry_export(
    kind: Annotated[ImportKind, typer.Argument(help="What to export (not successions).")],
    file: Annotated[Path, typer.Argument(dir_okay=False, writable=True)],
    url: RegistryUrl = DEFAULT_REGISTRY,
) -> None:
    """Write the registry as it is now, in the columns `import` reads back."""
    if kind is ImportKind.SUCCESSIONS:
        raise fail(ValueError("successions are imported from the official decision, not exported"),
                   EXIT_CONFIG)
    with session_factory(make_engine(url))() as session, file.open("w", encoding="utf-8",
                                                                    newline="") as out:
        count = export_csv(session, kind.value, out)
    console.print(f"exported {count} {kind.value} to {file}")


@registry_app.command("reassign")
def registry_reassign(
    at: Annotated[dt.datetime | None, typer.Option(
        help="When the moves take effect (ISO 8601 with offset); default now.")] = None,
    url: RegistryUrl = DEFAULT_REGISTRY,
) -> None:
    """Move what is registered under retired units to their successors; history is kept."""
    when = at or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        raise fail(ValueError(f"--at {when.isoformat()} needs a UTC offset, e.g. +07:00"),
                   EXIT_CONFIG)
    with session_factory(make_engine(url))() as session, session.begin():
        moved = reassign_all_retired(session, at=when)
    for code, count in moved.items():
        console.print(f"ward {code}: {count} moved to its successor")
    console.print(f"{sum(moved.values())} moved from {len(moved)} retired units")


app.command("demo")(demo)
