"""CSV export of the registry as it is now, in the columns ``csv_import`` reads back.

Every text cell goes through ``spreadsheet_cells.safe_cell``: an organisation named
``=HYPERLINK(...)`` is written ``'=HYPERLINK(...)``, shown as text by a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from iotgw.registry.csv_import import ROW_MODELS, VIETNAM, Kind
from iotgw.registry.models import (
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
                   "since": place.valid_from.astimezone(VIETNAM).date()}
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
    else:
        raise ValueError(f"{kind} cannot be exported")


def records(session: Session, kind: Kind, *, province: int | None = None) -> Iterator[dict[str, object]]:
    """The current rows of ``kind``, those placed in ``province`` only if given."""
    if province is None:
        yield from _records(session, kind)
        return
    wards = set(session.scalars(select(Ward.code).where(Ward.province_code == province)))
    for record in _records(session, kind):
        if kind == "reference_counts":
            inside = record["unit_code"] == province if record["level"] == "province" \
                else record["unit_code"] in wards
        else:
            inside = record["ward_code"] in wards
        if inside:
            yield record


def export_csv(session: Session, kind: Kind, out: TextIO) -> int:
    """Write the current rows of ``kind``; returns how many."""
    writer = csv.DictWriter(out, fieldnames=list(ROW_MODELS[kind].model_fields), lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in _records(session, kind):
        writer.writerow({k: "" if v is None else safe_cell(v) for k, v in record.items()})
        count += 1
    return count
