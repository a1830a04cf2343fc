"""Bulk import of organisations, gateways, devices, reference counts, successions,
declarations (what an organisation declared or an assessment found, with its source) and
aggregates (an authoritative N of M per area and year, with its source), from CSV
(``iotgw registry import``, the API) or from JSON rows (the API).

All or nothing: every row is validated (types, enums, references to wards, organisations
and gateways, duplicates within the file and against the registry) before anything is
written, every bad row is reported with its line number and reason, and a file with any
bad row imports nothing (``ImportFailed``). Ids (a row's own, its organisation's, its
gateway's) follow ``devices.topics.ID_PATTERN``; a bad one is reported as ``line N:
<field>: Value error, invalid <field> '<id>': <the rule>``. Installation dates become
placements from 00:00 Vietnam time (UTC+7) on that day. A province's administrator
imports with ``province``: a row that names anything of another province fails the whole
import (``OutsideProvince``): its ward, and the organisation and gateway it is placed under
or on, each where its latest placement puts it (a device in the province's own ward but on
another province's gateway, or under another province's household, would otherwise hand
that province's data to this one); successions (reorganisations of units) are the
operator's alone.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Annotated, Literal

from iotgw.devices import check_gateway_id, check_id
from iotgw.devices.profiles import ProfileName
from iotgw.registry.admin_units import Succession, add_succession
from iotgw.registry.errors import ImportFailed, OutsideProvince, RowError
from iotgw.registry.former_provinces import former_provinces
from iotgw.registry.models import (
    AggregateCount,
    Declaration,
    Device,
    Gateway,
    Organisation,
    OrgType,
    Placement,
    ReferenceCount,
    Sector,
    SubjectKind,
    Ward,
)
from iotgw.registry.spreadsheet_cells import restored_cell
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")

Kind = Literal["organisations", "gateways", "devices", "reference_counts", "successions",
               "declarations", "aggregates"]


def _checked_id(value: str, info: ValidationInfo) -> str:
    return check_id(value, info.field_name or "id")


def _checked_gateway_id(value: str, info: ValidationInfo) -> str:
    return check_gateway_id(value, info.field_name or "id")


# An id in a registry row: the message names the field and the rule (the telemetry
# models' EntityId quotes only the pattern). Blanks around a value are stripped first.
RowId = Annotated[str, AfterValidator(_checked_id)]
# A gateway's id is also its broker account and client id: never a central service's.
GatewayRowId = Annotated[str, AfterValidator(_checked_gateway_id)]
def _printable(value: str) -> str:
    """PostgreSQL refuses a NUL in text (a 500 at the write), and no name or source has a
    control character: a line break or an escape sequence in one is an attack on whoever
    reads it in a log, a terminal or a spreadsheet."""
    if bad := sorted({f"U+{ord(c):04X}" for c in value if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0}):
        raise ValueError(f"control characters {', '.join(bad[:5])} are not allowed")
    return value


# Free text of a row (a name, a source): printable, 1-200 characters.
Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]


# A number stored in an INTEGER column: PostgreSQL's is 32 bits, SQLite's 64; a larger one
# was a 500 at the write (OverflowError, NumericValueOutOfRange) instead of its line's error.
INT_MAX = 2**31 - 1
Count = Annotated[int, Field(ge=0, le=INT_MAX)]
UnitCode = Annotated[int, Field(ge=0, le=INT_MAX)]


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class OrganisationRow(_Row):
    id: RowId
    name: Text
    type: OrgType
    sector: Sector
    ward_code: int
    since: dt.date
    # Open data of its environmental stations: empty follows the type (public bodies open,
    # private ones closed), true opts a private owner in, false opts out.
    open_data: bool | None = None


class GatewayRow(_Row):
    id: GatewayRowId
    ward_code: int
    organisation_id: RowId | None = None
    installed_on: dt.date
    decommissioned_on: dt.date | None = None
    latitude: Annotated[float, Field(ge=8, le=24)] | None = None  # Vietnam's span
    longitude: Annotated[float, Field(ge=102, le=118)] | None = None

    @model_validator(mode="after")
    def _decommissioned_after_installed(self) -> GatewayRow:
        if self.decommissioned_on is not None and self.decommissioned_on <= self.installed_on:
            raise ValueError("decommissioned_on must be after installed_on")
        return self


class DeviceRow(GatewayRow):
    id: RowId
    gateway_id: GatewayRowId
    profile: ProfileName  # of devices/profiles.toml
    sector: Sector
    expected_interval_s: Annotated[int, Field(gt=0, le=INT_MAX)]


class ReferenceCountRow(_Row):
    level: Literal["province", "ward"]
    unit_code: UnitCode
    org_type: OrgType
    year: Annotated[int, Field(ge=2000, le=2100)]
    count: Count
    source: Text


class DeclarationRow(_Row):
    """What an organisation declared, or an assessment found, on a date (with its source)."""

    organisation_id: RowId
    subject: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]  # e.g. mes, e_invoice
    # The span of the aggregates' years: a date of year 1 or 9999 is a typo or an attack.
    declared_on: Annotated[dt.date, Field(ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31))]
    holds: bool
    level: Annotated[int, Field(ge=0, le=10)] | None = None
    source: Text


class AggregateRow(_Row):
    """An authoritative N of M for an area and year; ``former_province`` is a pre-2025
    province code (figures kept for the province as it was)."""

    measure: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    level: Literal["province", "ward", "former_province"]
    unit_code: UnitCode
    year: Annotated[int, Field(ge=2000, le=2100)]
    numerator: Count
    denominator: Annotated[int, Field(gt=0, le=INT_MAX)]
    source: Text

    @model_validator(mode="after")
    def _n_of_m(self) -> AggregateRow:
        if self.numerator > self.denominator:
            raise ValueError("numerator must not exceed denominator")
        return self


class SuccessionRow(_Row):
    """One line of a reorganisation decision: a retired unit and the one that replaced it."""

    retired_code: UnitCode  # unbounded, a code past INTEGER failed at the flush (a 500)
    retired_name: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_printable)]
    successor_code: UnitCode
    effective: dt.date


ROW_MODELS: dict[str, type[_Row]] = {
    "organisations": OrganisationRow, "gateways": GatewayRow, "devices": DeviceRow,
    "reference_counts": ReferenceCountRow, "successions": SuccessionRow,
    "declarations": DeclarationRow, "aggregates": AggregateRow,
}


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), VIETNAM)


def _placed_provinces(session: Session, kind: SubjectKind) -> dict[str, int]:
    """Each subject of ``kind`` -> the province of its latest placement (the current one,
    or the last one of something decommissioned)."""
    latest = select(Placement.subject_id, func.max(Placement.valid_from).label("since")).where(
        Placement.subject_kind == kind).group_by(Placement.subject_id).subquery()
    rows = session.execute(select(Placement.subject_id, Ward.province_code).join(
        latest, (latest.c.subject_id == Placement.subject_id) & (latest.c.since == Placement.valid_from)
    ).join(Ward, Ward.code == Placement.ward_code).where(Placement.subject_kind == kind))
    return {subject: province for subject, province in rows}


class _Known:
    """What rows may refer to: the registry's ids plus those earlier in the file; with
    ``scoped``, also the province each organisation and gateway is placed in."""

    def __init__(self, session: Session, *, scoped: bool = False) -> None:
        units = list(session.execute(select(Ward.code, Ward.retired_on, Ward.province_code)))
        self.wards = {code for code, retired, _ in units if retired is None}
        self.retired = {code for code, retired, _ in units if retired is not None}
        self.province_of = {code: province for code, _, province in units}
        self.provinces = set(self.province_of.values())
        self.organisations = set(session.scalars(select(Organisation.id)))
        self.gateways = set(session.scalars(select(Gateway.id)))
        self.devices = set(session.scalars(select(Device.id)))
        self.counts = {tuple(row) for row in session.execute(select(
            ReferenceCount.level, ReferenceCount.unit_code, ReferenceCount.org_type,
            ReferenceCount.year))}
        self.declarations = {tuple(row) for row in session.execute(select(
            Declaration.organisation_id, Declaration.subject, Declaration.declared_on))}
        self.aggregates = {tuple(row) for row in session.execute(select(
            AggregateCount.measure, AggregateCount.level, AggregateCount.unit_code,
            AggregateCount.year))}
        self.placed_in = {kind: _placed_provinces(session, kind) if scoped else {}
                          for kind in (SubjectKind.ORGANISATION, SubjectKind.GATEWAY)}


def _first(seen: set[tuple], key: tuple, what: str) -> str | None:
    """Registers ``key`` in ``seen``: a row's natural key, once in the registry and the file."""
    if key in seen:
        return f"duplicate {what} {key}"
    seen.add(key)
    return None


def _check(row: _Row, known: _Known) -> str | None:
    """The first broken reference or duplicate of a valid row; registers its id if none."""
    if isinstance(row, SuccessionRow):
        if row.successor_code not in known.wards:
            return f"successor_code: no current ward {row.successor_code}"
        if row.retired_code in known.retired or row.retired_code == row.successor_code:
            return f"retired_code: {row.retired_code} is already retired or is its own successor"
        known.retired.add(row.retired_code)
        return None
    if isinstance(row, DeclarationRow):
        if row.organisation_id not in known.organisations:
            return f"organisation_id: no organisation {row.organisation_id!r}"
        return _first(known.declarations, (row.organisation_id, row.subject, row.declared_on), "declaration")
    if isinstance(row, AggregateRow):
        if row.level == "former_province":
            if row.unit_code not in former_provinces().names:
                return f"unit_code: no former province {row.unit_code}"
        elif row.unit_code not in (known.provinces if row.level == "province" else known.wards):
            return f"unit_code: no current {row.level} {row.unit_code}"
        return _first(known.aggregates, (row.measure, row.level, row.unit_code, row.year), "aggregate")
    if isinstance(row, ReferenceCountRow):
        if row.unit_code not in (known.provinces if row.level == "province" else known.wards):
            return f"unit_code: no current {row.level} {row.unit_code}"
        return _first(known.counts, (row.level, row.unit_code, row.org_type, row.year), "reference count")
    if row.ward_code not in known.wards:  # type: ignore[attr-defined]
        return f"ward_code: no current ward {row.ward_code}"  # type: ignore[attr-defined]
    if isinstance(row, OrganisationRow):
        ids = known.organisations
    else:
        assert isinstance(row, GatewayRow)
        if row.organisation_id is not None and row.organisation_id not in known.organisations:
            return f"organisation_id: no organisation {row.organisation_id!r}"
        if isinstance(row, DeviceRow) and row.gateway_id not in known.gateways:
            return f"gateway_id: no gateway {row.gateway_id!r}"
        ids = known.devices if isinstance(row, DeviceRow) else known.gateways
    if row.id in ids:  # type: ignore[attr-defined]
        return f"id: {row.id!r} already exists"  # type: ignore[attr-defined]
    ids.add(row.id)  # type: ignore[attr-defined]
    return None


def _placement(kind: SubjectKind, row: GatewayRow, *, gateway_id: str | None = None) -> Placement:
    """From installation to decommissioning: after that, the subject is nowhere."""
    valid_to = _midnight(row.decommissioned_on) if row.decommissioned_on else None
    return Placement(subject_kind=kind, subject_id=row.id, ward_code=row.ward_code,
                     organisation_id=row.organisation_id, gateway_id=gateway_id,
                     valid_from=_midnight(row.installed_on), valid_to=valid_to)


def _store(session: Session, row: _Row) -> None:
    if isinstance(row, SuccessionRow):
        add_succession(session, Succession(row.retired_code, row.retired_name,
                                           row.successor_code, row.effective))
    elif isinstance(row, ReferenceCountRow):
        session.add(ReferenceCount(**row.model_dump()))
    elif isinstance(row, DeclarationRow):
        session.add(Declaration(**row.model_dump()))
    elif isinstance(row, AggregateRow):
        session.add(AggregateCount(**row.model_dump()))
    elif isinstance(row, OrganisationRow):
        session.add(Organisation(id=row.id, name=row.name, type=row.type, sector=row.sector,
                                 open_data=row.open_data))
        session.add(Placement(subject_kind=SubjectKind.ORGANISATION, subject_id=row.id,
                              ward_code=row.ward_code, valid_from=_midnight(row.since)))
    elif isinstance(row, DeviceRow):
        session.add(Device(id=row.id, profile=row.profile, sector=row.sector,
                           expected_interval_s=row.expected_interval_s,
                           installed_on=row.installed_on, decommissioned_on=row.decommissioned_on,
                           latitude=row.latitude, longitude=row.longitude))
        session.add(_placement(SubjectKind.DEVICE, row, gateway_id=row.gateway_id))
    elif isinstance(row, GatewayRow):
        session.add(Gateway(id=row.id, installed_on=row.installed_on,
                            decommissioned_on=row.decommissioned_on, latitude=row.latitude,
                            longitude=row.longitude))
        session.add(_placement(SubjectKind.GATEWAY, row))


def _province_problem(row: _Row, province: int, known: _Known) -> str | None:
    """Why a province's administrator may not write this row, if they may not."""
    if isinstance(row, SuccessionRow):
        return "successions are imported by operators"
    if isinstance(row, AggregateRow):  # national figures (tax authority, traceability portal)
        return "aggregates are imported by operators"
    if isinstance(row, DeclarationRow):
        where = known.placed_in[SubjectKind.ORGANISATION].get(row.organisation_id)
        if where is not None and where != province:
            return f"organisation_id: {row.organisation_id} is in province {where}, not {province}"
        return None
    if isinstance(row, ReferenceCountRow):
        where = row.unit_code if row.level == "province" else known.province_of.get(row.unit_code)
        field, code = "unit_code", row.unit_code
    else:
        code = row.ward_code  # type: ignore[attr-defined]
        where, field = known.province_of.get(code), "ward_code"
    if where is not None and where != province:
        return f"{field}: {code} is in province {where}, not {province}"
    if isinstance(row, GatewayRow):
        references = [("organisation_id", SubjectKind.ORGANISATION, row.organisation_id)]
        if isinstance(row, DeviceRow):
            references.append(("gateway_id", SubjectKind.GATEWAY, row.gateway_id))
        for field, kind, subject in references:
            where = known.placed_in[kind].get(subject) if subject is not None else None
            if where is not None and where != province:
                return f"{field}: {subject} is in province {where}, not {province}"
    return None


def import_rows(
    session: Session, kind: Kind, records: Iterable[tuple[int, dict[str, object] | str]], *, source: str,
    province: int | None = None, progress: Callable[[int], None] | None = None,
) -> int:
    """Validate every (line, record) pair, then add them all to the session; returns the
    number of rows. A record that is a string is a line already found bad, and why. With
    ``province``, every row must be placed in that province, and the organisation and
    gateway it names must be placed there now.

    The caller commits.

    Raises:
        OutsideProvince: a row placed elsewhere or naming an organisation or gateway
            placed elsewhere; nothing was added to the session.
        ImportFailed: with every bad line and why; nothing was added to the session.
    """
    model = ROW_MODELS[kind]
    known = _Known(session, scoped=province is not None)
    rows: list[_Row] = []
    errors: list[RowError] = []
    outside: list[RowError] = []
    for line, record in records:
        if isinstance(record, str):
            errors.append(RowError(line, record))
            if progress:
                progress(1)
            continue
        try:
            row = model.model_validate(record)
        except ValidationError as exc:
            first = exc.errors()[0]
            errors.append(RowError(line, f"{'.'.join(map(str, first['loc']))}: {first['msg']}"))
        else:
            if province is not None and (problem := _province_problem(row, province, known)):
                outside.append(RowError(line, problem))
            elif problem := _check(row, known):
                errors.append(RowError(line, problem))
            rows.append(row)
        if progress:
            progress(1)
    if outside:
        raise OutsideProvince(source, outside)
    if errors:
        raise ImportFailed(source, errors)
    for row in rows:
        _store(session, row)
    session.flush()
    return len(rows)


def import_csv(
    session: Session, kind: Kind, lines: Iterable[str], *, source: str, province: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """``import_rows`` from CSV with a header of the row model's columns; empty cells are
    absent values.

    Raises:
        ImportFailed: a bad header, or as ``import_rows``.
    """
    model = ROW_MODELS[kind]
    reader = csv.reader(lines)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise ImportFailed(source, [RowError(1, f"not CSV: {exc}")]) from None
    if header:  # a byte order mark a spreadsheet wrote, read as text
        header[0] = header[0].removeprefix("\ufeff")
    fields = set(model.model_fields)
    required = {name for name, f in model.model_fields.items() if f.is_required()}
    if not set(header) >= required or not set(header) <= fields or len(set(header)) < len(header):
        shown = [name if len(name) <= 40 else name[:40] + "..." for name in header[:20]]
        raise ImportFailed(source, [RowError(1, f"columns must include {sorted(required)} and be"
                                                f" among {sorted(fields)}, each once; got {shown}")])

    def records() -> Iterator[tuple[int, dict[str, object] | str]]:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # a field longer than the csv module reads, say: the rest is unread
                yield reader.line_num, f"not CSV: {exc}"
                return
            if not cells:  # a blank line
                continue
            if len(cells) > len(header):
                yield reader.line_num, f"{len(cells)} cells, but the header has {len(header)} columns"
                continue
            # A cell an export quoted so a spreadsheet would not run it gets its value back.
            yield reader.line_num, {name: restored_cell(cell)
                                    for name, cell in zip(header, cells, strict=False) if cell != ""}

    return import_rows(session, kind, records(), source=source, province=province, progress=progress)
