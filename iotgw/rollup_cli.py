"""``iotgw rollup`` (aggregates and indicator values) and ``iotgw indicators`` (the catalogue)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

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
from iotgw.registry import RegistryError, former_province_name
from iotgw.rollup.catalogue import CATALOGUE_PATH, Target, load_catalogue
from iotgw.rollup.config import load_rollup_config
from iotgw.rollup.service import RollupService
from iotgw.tsdb import TsdbError

rollup_app = typer.Typer(help="Per-device aggregates and indicator values in InfluxDB.",
                         no_args_is_help=True)
indicators_app = typer.Typer(help="The indicator catalogue and the plan lines it serves.",
                             no_args_is_help=True)

def _service(config: Path) -> RollupService:
    return RollupService(load_or_exit(load_rollup_config, config))


@rollup_app.command("run")
def rollup_run(
    config: ConfigOption,
    once: Annotated[bool, typer.Option(help="One run, then exit.")] = False,
) -> None:
    """Every interval, recompute the hours that received data (late data included), their
    days and the periods containing them."""
    service = _service(config)
    try:
        if once:
            service.prepare()
            console.print(f"rollup: {service.run_once()}")
        else:
            service.run(stop_on_signals())
    except (TsdbError, RegistryError) as exc:
        raise fail(exc, EXIT_RUNTIME) from exc


@rollup_app.command("check")
def rollup_check(
    config: ConfigOption,
    max_runs: Annotated[float, typer.Option(
        min=1, help="Healthy while the last run is at most this many intervals old.")] = 3,
) -> None:
    """Exit 0 when the rollup ran recently, 1 otherwise: the compose health check, and a
    probe for whatever monitors the server."""
    service = _service(config)
    try:
        age = service.since_last_run_s()
    except TsdbError as exc:
        raise fail(exc, EXIT_RUNTIME) from exc
    limit = max_runs * service.cfg.interval_s
    if age is None or age > limit:
        last = "never ran" if age is None else f"last run {age:.0f} s ago"
        raise fail(RuntimeError(f"rollup is stale: {last} (limit {limit:.0f} s)"), EXIT_RUNTIME)
    console.print(f"rollup: last run {age:.0f} s ago")


@rollup_app.command("backfill")
def rollup_backfill(
    config: ConfigOption,
    first: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"],
                                               help="First day (Vietnam time), YYYY-MM-DD.")],
    last: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"],
                                              help="Last day, included.")],
) -> None:
    """Recompute every hour of the days, and every period containing them (after a registry
    correction, or for data that predates the rollup)."""
    if last < first:
        raise fail(ValueError(f"--to {last:%Y-%m-%d} is before --from {first:%Y-%m-%d}"), EXIT_CONFIG)
    service = _service(config)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    try:
        service.prepare()
        with Progress(*columns, console=console) as progress:
            hours = service.hours_of(first.date(), last.date())
            task = progress.add_task("days, then periods", total=service.steps(hours))
            summary = service.recompute(hours, lambda n: progress.advance(task, n))
    except (TsdbError, RegistryError) as exc:
        raise fail(exc, EXIT_RUNTIME) from exc
    console.print(f"backfill: {summary}")


def _target_area(target: Target) -> str:
    """Where a target is scored: today's province, or a former province's wards in it."""
    if target.former_province is None:
        return f"province {target.province}"
    return (f"former {former_province_name(target.former_province)} ({target.former_province})"
            f" in province {target.province}: plan_area {target.unit}")


@indicators_app.command("list")
def indicators_list(
    catalogue: Annotated[Path, typer.Option(help="Catalogue file.")] = CATALOGUE_PATH,
    as_json: JsonOption = False,
) -> None:
    """Every indicator: kind, unit, formula, targets and the plan lines it comes from."""
    loaded = load_or_exit(load_catalogue, catalogue)
    if as_json:
        print_json([ind.model_dump(mode="json") for ind in loaded.indicators])
        return
    table = Table(show_lines=True)
    for column in ("id", "name", "kind / unit", "formula / evidence", "targets (area)", "sources"):
        table.add_column(column, overflow="fold")
    for ind in loaded.indicators:
        # A target's own evidence kinds are the plan's measure, judged apart from the formula's mix.
        targets = "\n".join(f"{t.comparator} {t.value:g} by {t.year} ({_target_area(t)};"
                            f"{' measured by ' + ', '.join(t.evidence) + ';' if t.evidence else ''}"
                            f" {t.plan} L{t.line})" for t in ind.targets) or "-"
        sources = "\n".join(f"{s.seed[:3]} L{s.line}" for s in ind.sources)
        table.add_row(ind.id, f"{ind.name_vi}\n{ind.name_en}", f"{ind.kind}\n{ind.unit}",
                      f"{ind.formula.kind}\n{', '.join(ind.formula.evidence)}", targets, sources)
    Console().print(table)  # the terminal's width; --json for pipes and scripts
