"""``iotgw ingest``: run the workers, end a worker's session, list and replay dead letters."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from iotgw.devices import ConfigError
from iotgw.ingest import (
    DeadLetterStore,
    IngestError,
    IngestService,
    load_ingest_config,
    retire_session,
    tune_gc_for_streaming,
)
from iotgw.ingest.replay import replay_dead_letters
from iotgw.options import (
    EXIT_CONFIG,
    EXIT_RUNTIME,
    ConfigOption,
    JsonOption,
    console,
    fail,
    load_or_exit,
    print_json,
    stop_on_signals,
)
from iotgw.supervisor import Supervisor
from iotgw.tsdb import TsdbError

ingest_app = typer.Typer(help="The service that stores telemetry in InfluxDB.", no_args_is_help=True)


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
    tune_gc_for_streaming()
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
    as_json: JsonOption = False,
) -> None:
    """List what ingest could not store, oldest first, with the reason."""
    try:
        cfg = load_ingest_config(config)
        store = DeadLetterStore(cfg.dead_letter_path, cfg.dead_letters)
    except ConfigError as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    except IngestError as exc:
        raise fail(exc, EXIT_RUNTIME) from exc
    if as_json:
        print_json({"path": str(cfg.dead_letter_path), "count": store.count(),
                    "per_gateway": store.per_gateway(),
                    "letters": [{"id": letter.id, "received_ms": letter.received_ms, "topic": letter.topic,
                                 "gateway": letter.gateway, "reason": letter.reason,
                                 "size": letter.size or len(letter.payload), "cut": letter.cut,
                                 "payload": letter.payload.decode("utf-8", errors="replace")}
                                for letter in store.list(limit=limit)]})
        store.close()
        return
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
