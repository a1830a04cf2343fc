"""Where subjects are, and were: opening, closing and querying ``Placement`` rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from registry.errors import NotFound, RegistryError
from registry.models import Device, Gateway, Placement, SubjectKind, Ward

_KEEP = object()


def _utc(at: dt.datetime) -> dt.datetime:
    """Refuse naive times at the API, with the registry's error (see ``UtcDateTime``)."""
    if at.tzinfo is None:
        raise RegistryError(f"{at} has no time zone; give an aware datetime")
    return at


def _current(session: Session, kind: SubjectKind, subject_id: str) -> Placement | None:
    return session.scalar(select(Placement).where(
        Placement.subject_kind == kind, Placement.subject_id == subject_id,
        Placement.valid_to.is_(None)))


def place(
    session: Session, kind: SubjectKind, subject_id: str, *, at: dt.datetime, ward_code: int,
    organisation_id: str | None = None, gateway_id: str | None = None,
) -> Placement:
    """Open the first placement of a subject."""
    at = _utc(at)
    if _current(session, kind, subject_id) is not None:
        raise RegistryError(f"{kind} {subject_id!r} is already placed; use move()")
    ward = session.get(Ward, ward_code)
    if ward is None:
        raise NotFound("ward", ward_code)
    if ward.retired_on is not None:
        raise RegistryError(f"ward {ward_code} ({ward.name}) was retired on {ward.retired_on};"
                            f" its successor is {ward.successor_code}")
    placement = Placement(subject_kind=kind, subject_id=subject_id, ward_code=ward_code,
                          organisation_id=organisation_id, gateway_id=gateway_id, valid_from=at)
    session.add(placement)
    session.flush()
    return placement


def move(
    session: Session, kind: SubjectKind, subject_id: str, *, at: dt.datetime,
    ward_code: int | None = None, organisation_id: object = _KEEP, gateway_id: object = _KEEP,
) -> Placement:
    """Close the current placement at ``at`` and open one with the changes; what is not
    given stays as it was."""
    at = _utc(at)
    current = _current(session, kind, subject_id)
    if current is None:
        raise NotFound(str(kind), subject_id)
    if at <= current.valid_from:
        raise RegistryError(f"{kind} {subject_id!r}: a move at {at} is not after its current"
                            f" placement from {current.valid_from}")
    current.valid_to = at
    session.flush()
    return place(
        session, kind, subject_id, at=at,
        ward_code=current.ward_code if ward_code is None else ward_code,
        organisation_id=current.organisation_id if organisation_id is _KEEP else organisation_id,  # type: ignore[arg-type]
        gateway_id=current.gateway_id if gateway_id is _KEEP else gateway_id,  # type: ignore[arg-type]
    )


def placements_at(session: Session, kind: SubjectKind, at: dt.datetime) -> Sequence[Placement]:
    """Every placement of that kind in force at ``at``: the registry as it was then."""
    at = _utc(at)
    return session.scalars(select(Placement).where(
        Placement.subject_kind == kind, Placement.valid_from <= at,
        or_(Placement.valid_to.is_(None), Placement.valid_to > at),
    ).order_by(Placement.subject_id)).all()



def placements_during(
    session: Session, kind: SubjectKind, start: dt.datetime, end: dt.datetime,
) -> dict[str, Placement]:
    """Per subject, where a period [start, end) counts it: the placement in force at the
    end, or else the last one that ended inside the period."""
    start, end = _utc(start), _utc(end)
    rows = session.scalars(select(Placement).where(
        Placement.subject_kind == kind, Placement.valid_from < end,
        or_(Placement.valid_to.is_(None), Placement.valid_to > start),
    ).order_by(Placement.subject_id, Placement.valid_from))
    return {placement.subject_id: placement for placement in rows}  # the latest one wins


def devices_on_gateway(session: Session, gateway_id: str) -> list[tuple[Device, Placement]]:
    """The devices placed on a gateway now, with their placements."""
    rows = session.execute(select(Device, Placement).join(
        Placement, (Placement.subject_id == Device.id)
        & (Placement.subject_kind == SubjectKind.DEVICE)).where(
        Placement.gateway_id == gateway_id, Placement.valid_to.is_(None),
    ).order_by(Device.id))
    return [(device, placement) for device, placement in rows]


def mark_seen(session: Session, seen: dict[str, dt.datetime]) -> int:
    """Move gateways' last-seen forward (never back: messages arrive out of order);
    returns how many registered gateways were updated. Unknown ids are ignored."""
    updated = 0
    for gateway in session.scalars(select(Gateway).where(Gateway.id.in_(seen))):
        at = seen[gateway.id]
        if gateway.last_seen_at is None or at > gateway.last_seen_at:
            gateway.last_seen_at = at
            updated += 1
    session.flush()
    return updated


def record_seen(sessions: sessionmaker[Session], seen: dict[str, dt.datetime]) -> int:
    """``mark_seen`` in a transaction of its own.

    Raises:
        RegistryError: the registry could not be written (database down, locked...).
    """
    try:
        with sessions() as session, session.begin():
            return mark_seen(session, seen)
    except SQLAlchemyError as exc:
        raise RegistryError(f"cannot record last-seen of {len(seen)} gateways: {exc}") from exc
