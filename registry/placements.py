"""Where subjects are, and were: opening, closing and querying ``Placement`` rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from iotgw.devices import check_id
from iotgw.registry.errors import NotFound, RegistryError
from iotgw.registry.models import Device, Gateway, Organisation, Placement, SubjectKind, Ward
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

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


def _open_ward(session: Session, ward_code: int) -> Ward:
    """The ward, if a subject may be placed in it now: it exists and is not retired."""
    ward = session.get(Ward, ward_code)
    if ward is None:
        raise NotFound("ward", ward_code)
    if ward.retired_on is not None:
        raise RegistryError(f"ward {ward_code} ({ward.name}) was retired on {ward.retired_on};"
                            f" its successor is {ward.successor_code}")
    return ward


def place(
    session: Session, kind: SubjectKind, subject_id: str, *, at: dt.datetime, ward_code: int,
    organisation_id: str | None = None, gateway_id: str | None = None,
) -> Placement:
    """Open the first placement of a subject."""
    at = _utc(at)
    if _current(session, kind, subject_id) is not None:
        raise RegistryError(f"{kind} {subject_id!r} is already placed; use move()")
    _open_ward(session, ward_code)
    placement = Placement(subject_kind=kind, subject_id=subject_id, ward_code=ward_code,
                          organisation_id=organisation_id, gateway_id=gateway_id, valid_from=at)
    session.add(placement)
    session.flush()
    return placement


def _checked_id(value: str, what: str) -> str:
    try:
        return check_id(value, what)
    except ValueError as exc:
        raise RegistryError(str(exc)) from None


def _last(session: Session, kind: SubjectKind, subject_id: str) -> Placement | None:
    return session.scalar(select(Placement).where(
        Placement.subject_kind == kind, Placement.subject_id == subject_id,
    ).order_by(Placement.valid_from.desc()).limit(1))


def _not_decommissioned(session: Session, kind: SubjectKind, subject_id: str) -> None:
    """Raises: RegistryError if the subject was placed once and is placed nowhere now."""
    last = _last(session, kind, subject_id)
    if last is not None and last.valid_to is not None:
        raise RegistryError(f"{kind} {subject_id!r} has been placed nowhere since {last.valid_to}"
                            " (decommissioned)")


def _placed_now(session: Session, kind: SubjectKind, subject_id: str) -> Placement:
    """The subject's current placement.

    Raises:
        NotFound: the subject was never placed (unknown).
        RegistryError: it was, but is placed nowhere now (decommissioned).
    """
    current = _current(session, kind, subject_id)
    if current is not None:
        return current
    _not_decommissioned(session, kind, subject_id)
    raise NotFound(str(kind), subject_id)


def _check_targets(session: Session, kind: SubjectKind, *, organisation_id: object,
                   gateway_id: object) -> None:
    """What a subject of ``kind`` may be moved under: a gateway that exists and is not
    decommissioned (devices only), an organisation that exists (devices and gateways)."""
    if kind is not SubjectKind.DEVICE and gateway_id is not _KEEP:
        raise RegistryError(f"a {kind} is on no gateway; only devices move between gateways")
    if kind is SubjectKind.ORGANISATION and organisation_id is not _KEEP:
        raise RegistryError("an organisation is under no organisation")
    if isinstance(gateway_id, str):
        _checked_id(gateway_id, "gateway id")
        if session.get(Gateway, gateway_id) is None:
            raise NotFound("gateway", gateway_id)
        _not_decommissioned(session, SubjectKind.GATEWAY, gateway_id)
    if isinstance(organisation_id, str):
        _checked_id(organisation_id, "organisation id")
        if session.get(Organisation, organisation_id) is None:
            raise NotFound("organisation", organisation_id)


def move(
    session: Session, kind: SubjectKind, subject_id: str, *, at: dt.datetime,
    ward_code: int | None = None, organisation_id: object = _KEEP, gateway_id: object = _KEEP,
) -> Placement:
    """Close the current placement at ``at`` and open one with the changes; what is not
    given stays as it was (``None`` for ``organisation_id`` or ``gateway_id``: under none).

    Only the subject moves. A gateway's devices keep their own placements, so a moved
    gateway's devices stay in their wards and on that gateway; move each device that went
    with it as well. Everything is checked before anything changes.

    Raises:
        NotFound: no such subject, ward, gateway or organisation.
        RegistryError: an id outside the id rule, a retired ward, a decommissioned subject
            or gateway, a target that a subject of ``kind`` cannot have, a move that changes
            nothing, or ``at`` not after the current placement's start.
    """
    at = _utc(at)
    _checked_id(subject_id, f"{kind} id")
    current = _placed_now(session, kind, subject_id)
    _check_targets(session, kind, organisation_id=organisation_id, gateway_id=gateway_id)
    ward_code = current.ward_code if ward_code is None else ward_code
    _open_ward(session, ward_code)
    organisation = current.organisation_id if organisation_id is _KEEP else organisation_id
    gateway = current.gateway_id if gateway_id is _KEEP else gateway_id
    if (ward_code, organisation, gateway) == (current.ward_code, current.organisation_id,
                                              current.gateway_id):
        raise RegistryError(f"{kind} {subject_id!r} is already in ward {ward_code}"
                            f" (organisation {organisation}, gateway {gateway}): nothing to move")
    if at <= current.valid_from:
        raise RegistryError(f"{kind} {subject_id!r}: a move at {at} is not after its current"
                            f" placement from {current.valid_from}")
    current.valid_to = at
    session.flush()
    return place(session, kind, subject_id, at=at, ward_code=ward_code,
                 organisation_id=organisation,  # type: ignore[arg-type]
                 gateway_id=gateway)  # type: ignore[arg-type]


def outside_province(
    session: Session, province: int, kind: SubjectKind, subject_id: str, *,
    ward_code: int | None = None, organisation_id: str | None = None, gateway_id: str | None = None,
) -> list[str]:
    """What of a move lies outside ``province``: the subject where it is now, and the ward,
    organisation and gateway it is moved to (each where it is placed now). Unknown ones are
    left to ``move`` to report, so the list names only what exists elsewhere."""
    problems = []

    def check(what: str, placement: Placement | None) -> None:
        if placement is None:
            return
        ward = session.get(Ward, placement.ward_code)
        if ward is not None and ward.province_code != province:
            problems.append(f"{what} is in province {ward.province_code}, not {province}")

    check(f"{kind} {subject_id}", _current(session, kind, subject_id))
    if ward_code is not None and (ward := session.get(Ward, ward_code)) is not None \
            and ward.province_code != province:
        problems.append(f"ward {ward_code} is in province {ward.province_code}, not {province}")
    if organisation_id is not None:
        check(f"organisation {organisation_id}",
              _current(session, SubjectKind.ORGANISATION, organisation_id))
    if gateway_id is not None:
        check(f"gateway {gateway_id}", _current(session, SubjectKind.GATEWAY, gateway_id))
    return problems


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
