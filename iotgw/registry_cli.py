"""``iotgw registry``: create the schema, import and export rows, move one subject, reassign
retired units, read who saw households' personal data."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from iotgw.options import DEFAULT_REGISTRY, EXIT_CONFIG, RegistryUrl, console, fail
from iotgw.registry import (
    RegistryError,
    SubjectKind,
    make_engine,
    move,
    read_access_log,
    reassign_all_retired,
    seed_admin_units,
    session_factory,
    upgrade,
)
from iotgw.registry.access_log import MAX_ROWS
from iotgw.registry.csv_export import export_csv
from iotgw.registry.csv_import import import_csv

registry_app = typer.Typer(help="Administrative units, organisations, gateways and devices.",
                           no_args_is_help=True)


class ImportKind(StrEnum):
    ORGANISATIONS = "organisations"
    GATEWAYS = "gateways"
    DEVICES = "devices"
    REFERENCE_COUNTS = "reference_counts"
    SUCCESSIONS = "successions"
    DECLARATIONS = "declarations"  # what an organisation declared or an assessment found
    AGGREGATES = "aggregates"  # an authoritative N of M per area and year


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
    at: Annotated[str | None, typer.Option(
        help="When the moves take effect (ISO 8601 with offset); default now.")] = None,
    url: RegistryUrl = DEFAULT_REGISTRY,
) -> None:
    """Move what is registered under retired units to their successors; history is kept."""
    when = _when(at)  # parsed here: the ISO forms typer's datetime type takes vary by version
    with session_factory(make_engine(url))() as session, session.begin():
        moved = reassign_all_retired(session, at=when)
    for code, count in moved.items():
        console.print(f"ward {code}: {count} moved to its successor")
    console.print(f"{sum(moved.values())} moved from {len(moved)} retired units")


def _when(at: str | None) -> dt.datetime:
    """``--at`` as an aware instant (now if not given); a time without offset is refused,
    since Vietnam time and UTC are 7 hours apart."""
    if at is None:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        raise fail(ValueError(f"--at {at!r} is not an ISO 8601 time, e.g. 2026-03-01T08:00:00+07:00"),
                   EXIT_CONFIG) from None
    if when.tzinfo is None:
        raise fail(ValueError(f"--at {at} needs a UTC offset, e.g. +07:00"), EXIT_CONFIG)
    return when


def _link(value: str | None, none: bool, option: str) -> dict[str, str | None]:
    """``move``'s keyword for a link: absent (kept), an id, or None (``--no-...``)."""
    if value is not None and none:
        raise fail(ValueError(f"give --{option} or --no-{option}, not both"), EXIT_CONFIG)
    if none:
        return {f"{option}_id": None}
    return {} if value is None else {f"{option}_id": value}


@registry_app.command("move")
def registry_move(
    kind: Annotated[SubjectKind, typer.Argument(help="What moves.")],
    subject_id: Annotated[str, typer.Argument(metavar="ID", help="Its id.")],
    at: Annotated[str | None, typer.Option(
        help="When it moved (ISO 8601 with offset, e.g. 2026-03-01T08:00:00+07:00); default now.")] = None,
    ward: Annotated[int | None, typer.Option(help="The commune or ward it moved to (code).")] = None,
    gateway: Annotated[str | None, typer.Option(help="The gateway a device is on from then.")] = None,
    no_gateway: Annotated[bool, typer.Option(
        "--no-gateway", help="On no gateway from then (a node that talks to the broker itself).")] = False,
    organisation: Annotated[str | None, typer.Option(help="The organisation it is under from then.")] = None,
    no_organisation: Annotated[bool, typer.Option(
        "--no-organisation", help="It is under no organisation from then.")] = False,
    url: RegistryUrl = DEFAULT_REGISTRY,
) -> None:
    """Move one device, gateway or organisation from --at on; what is not given stays as it
    was, and where it was before stays in the history (readings taken before --at keep
    their old place).

    Only the subject moves: a gateway's devices keep their own wards and stay on it, so
    move each device that went with it too (a device's place is its own: a LoRa or Modbus
    TCP device may be some distance from its gateway).
    """
    when = _when(at)
    links = {**_link(gateway, no_gateway, "gateway"), **_link(organisation, no_organisation, "organisation")}
    if ward is None and not links:
        raise fail(ValueError("nothing to move: give --ward, --gateway or --organisation"), EXIT_CONFIG)
    try:
        with session_factory(make_engine(url))() as session, session.begin():
            placement = move(session, kind, subject_id, at=when, ward_code=ward, **links)
    except RegistryError as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    on = f", gateway {placement.gateway_id or '-'}" if kind is SubjectKind.DEVICE else ""
    console.print(f"{kind} {subject_id} from {placement.valid_from.isoformat()}: ward"
                  f" {placement.ward_code}, organisation {placement.organisation_id or '-'}{on}",
                  highlight=False)


@registry_app.command("access-log")
def registry_access_log(
    province: Annotated[int | None, typer.Option(help="Only accesses to this province's households.")] = None,
    since: Annotated[str | None, typer.Option(
        help="Only from then (ISO 8601 with offset, e.g. 2026-03-01T00:00:00+07:00).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="At most this many, newest first.")] = 100,
    url: RegistryUrl = DEFAULT_REGISTRY,
) -> None:
    """Who read households' meter readings or registry rows (API tokens), newest first."""
    try:
        start = dt.datetime.fromisoformat(since) if since is not None else None
    except ValueError:
        raise fail(ValueError(f"--since {since!r} is not an ISO 8601 time, e.g. 2026-03-01T00:00:00+07:00"),
                   EXIT_CONFIG) from None
    if start is not None and start.tzinfo is None:
        raise fail(ValueError(f"--since {since} needs a UTC offset, e.g. +07:00"), EXIT_CONFIG)
    with session_factory(make_engine(url, must_exist=True))() as session:
        rows = read_access_log(session, province=province, since=start, limit=limit)
    table = Table("at (UTC)", "token", "role", "route", "device", "organisation", "province")
    for row in rows:
        table.add_row(row.at.isoformat(timespec="seconds"), row.token_id, row.role.value, row.route,
                      row.device_id or "-", row.organisation_id or "-",
                      "-" if row.province_code is None else str(row.province_code))
    Console().print(table)
