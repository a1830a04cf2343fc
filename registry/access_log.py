"""The record of who read a household's personal data (``PersonalDataAccess``).

A household's meter readings show when people are at home; the plans ask for smart
meters in every household, so the province's administrators who read them must be
answerable for it. Rows are written in the request that reads (the caller commits with
its own work) and are read only by operators.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from iotgw.registry.models import ApiRole, OrgType, PersonalDataAccess, Ward
from sqlalchemy import select
from sqlalchemy.orm import Session

MAX_ROWS = 1000  # per read of the log: it grows with every read of personal data


@dataclass(frozen=True, slots=True)
class Reader:
    """Who read, and through which route (its template, e.g. ``GET /v1/devices/{device_id}/readings``)."""

    token_id: str
    role: ApiRole
    route: str


def record_reading(session: Session, reader: Reader, *, device_id: str, organisation_id: str | None,
                   province: int | None) -> None:
    """One read of a household device's readings; the caller commits."""
    session.add(PersonalDataAccess(at=dt.datetime.now(dt.UTC), token_id=reader.token_id,
                                   role=reader.role, route=reader.route, device_id=device_id,
                                   organisation_id=organisation_id, province_code=province))


def record_household_rows(session: Session, reader: Reader, rows: Iterable[Mapping[str, object]]) -> int:
    """The household organisations among registry rows of organisations that were read
    (a row each, placed in its ward's province); returns how many. The caller commits."""
    households = [row for row in rows if row.get("type") == OrgType.HOUSEHOLD_METER_POINT.value]
    if not households:
        return 0
    wards = {row["ward_code"] for row in households}
    province_of = dict(session.execute(
        select(Ward.code, Ward.province_code).where(Ward.code.in_(wards))).all())
    now = dt.datetime.now(dt.UTC)
    session.add_all(PersonalDataAccess(at=now, token_id=reader.token_id, role=reader.role,
                                       route=reader.route, organisation_id=str(row["id"]),
                                       province_code=province_of.get(row["ward_code"]))
                    for row in households)
    return len(households)


def read_access_log(session: Session, *, province: int | None = None, since: dt.datetime | None = None,
                    limit: int = 100) -> Sequence[PersonalDataAccess]:
    """The latest accesses first, of one province and from ``since`` if given.

    Raises:
        ValueError: ``limit`` outside 1..``MAX_ROWS``, or ``since`` without a time zone.
    """
    if not 1 <= limit <= MAX_ROWS:
        raise ValueError(f"limit must be between 1 and {MAX_ROWS}, not {limit}")
    if since is not None and since.tzinfo is None:
        raise ValueError(f"since {since.isoformat()} has no time zone; give an offset, e.g. +07:00")
    query = select(PersonalDataAccess)
    if province is not None:
        query = query.where(PersonalDataAccess.province_code == province)
    if since is not None:
        query = query.where(PersonalDataAccess.at >= since)
    return session.scalars(query.order_by(PersonalDataAccess.at.desc(), PersonalDataAccess.id.desc())
                           .limit(limit)).all()
