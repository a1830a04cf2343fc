"""CSV export of the registry as it is now, in the columns ``csv_import`` reads back
(successions excepted: they come from the official decision, not from the registry).

Booleans are written ``true``/``false`` and an absent value as an empty cell, which is how
the importer reads them (an organisation's empty ``open_data`` follows its type). Every
text cell goes through ``spreadsheet_cells.safe_cell``: an organisation named
``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``, shown as text by a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from iotgw.registry.csv_import import ROW_MODELS, VIETNAM, Kind
from iotgw.registry.former_provinces import wards_of_former_province
from iotgw.registry.models import (
    AggregateCount,
    Declaration,
    Device,
    Gateway,
    Organisation,
    Placement,
    ReferenceCount,
    SubjectKind,
    Ward,
)
from iotgw.registry.spreadsheet_cells import safe_cell
from sqlalchemy import func, select
from sqlalchemy.orm import Session


def _current(session: Session, kind: SubjectKind, model: type) -> Iterator[tuple[Any, Placement]]:
    """Each subject with its latest placement (closed, for what was decommissioned)."""
    latest = select(Placement.subject_id, func.max(Placement.valid_from).label("since")).where(
        Placement.subject_kind == kind).group_by(Placement.subject_id).subquery()
    rows = session.execute(select(model, Placement).join(
        Placement, (Placement.subject_id == model.id) & (Placement.subject_kind == kind)
    ).join(latest, (latest.c.subject_id == Placement.subject_id)
           & (latest.c.since == Placement.valid_from)).order_by(model.id))
    yield from ((subject, placement) for subject, placement in rows)


def _records(session: Session, kind: Kind) -> Iterator[dict[str, object]]:
    if kind == "organisations":
        for org, place in _current(session, SubjectKind.ORGANISATION, Organisation):
            yield {"id": org.id, "name": org.name, "type": org.type.value,
                   "sector": org.sector.value, "ward_code": place.ward_code,
                   "since": place.valid_from.astimezone(VIETNAM).date(), "open_data": org.open_data}
    elif kind == "gateways":
        for gw, place in _current(session, SubjectKind.GATEWAY, Gateway):
            yield {"id": gw.id, "ward_code": place.ward_code,
                   "organisation_id": place.organisation_id, "installed_on": gw.installed_on,
                   "decommissioned_on": gw.decommissioned_on,
                   "latitude": gw.latitude, "longitude": gw.longitude}
    elif kind == "devices":
        for dev, place in _current(session, SubjectKind.DEVICE, Device):
            yield {"id": dev.id, "ward_code": place.ward_code,
                   "organisation_id": place.organisation_id, "installed_on": dev.installed_on,
                   "decommissioned_on": dev.decommissioned_on,
                   "latitude": dev.latitude, "longitude": dev.longitude,
                   "gateway_id": place.gateway_id, "profile": dev.profile,
                   "sector": dev.sector.value, "expected_interval_s": dev.expected_interval_s}
    elif kind == "reference_counts":
        for ref in session.scalars(select(ReferenceCount).order_by(
                ReferenceCount.level, ReferenceCount.unit_code, ReferenceCount.org_type,
                ReferenceCount.year)):
            yield {"level": ref.level, "unit_code": ref.unit_code, "org_type": ref.org_type.value,
                   "year": ref.year, "count": ref.count, "source": ref.source}
    elif kind == "declarations":
        for dec in session.scalars(select(Declaration).order_by(
                Declaration.organisation_id, Declaration.subject, Declaration.declared_on)):
            yield {"organisation_id": dec.organisation_id, "subject": dec.subject,
                   "declared_on": dec.declared_on, "holds": dec.holds, "level": dec.level,
                   "source": dec.source}
    elif kind == "aggregates":
        for agg in session.scalars(select(AggregateCount).order_by(
                AggregateCount.measure, AggregateCount.level, AggregateCount.unit_code,
                AggregateCount.year)):
            yield {"measure": agg.measure, "level": agg.level, "unit_code": agg.unit_code,
                   "year": agg.year, "numerator": agg.numerator, "denominator": agg.denominator,
                   "source": agg.source}
    else:
        raise ValueError(f"{kind} cannot be exported")


def _in_province(record: dict[str, object], kind: Kind, province: int, wards: set[int],
                 organisations: set[str]) -> bool:
    """Whether a row is the province's: by its unit for counts, by its organisation's latest
    placement for declarations, by its ward for the rest. An aggregate of a former province
    is the province's when some of its wards are now in the province."""
    if kind in ("reference_counts", "aggregates"):
        level, code = record["level"], record["unit_code"]
        if level == "province":
            return code == province
        if level == "former_province":
            return bool(wards_of_former_province(code, province=province))  # type: ignore[arg-type]
        return code in wards
    if kind == "declarations":
        return record["organisation_id"] in organisations
    return record["ward_code"] in wards


def records(session: Session, kind: Kind, *, province: int | None = None) -> Iterator[dict[str, object]]:
    """The current rows of ``kind``, those of ``province`` only if given."""
    if province is None:
        yield from _records(session, kind)
        return
    wards = set(session.scalars(select(Ward.code).where(Ward.province_code == province)))
    organisations = {org.id for org, place in _current(session, SubjectKind.ORGANISATION, Organisation)
                     if place.ward_code in wards} if kind == "declarations" else set()
    yield from (record for record in _records(session, kind)
                if _in_province(record, kind, province, wards, organisations))


def _cell(value: object) -> object:
    """A value as the importer reads it back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(value)


def export_csv(session: Session, kind: Kind, out: TextIO) -> int:
    """Write the current rows of ``kind``; returns how many."""
    writer = csv.DictWriter(out, fieldnames=list(ROW_MODELS[kind].model_fields), lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in _records(session, kind):
        writer.writerow({k: _cell(v) for k, v in record.items()})
        count += 1
    return count
