from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import (
    RegistryError,
    SubjectKind,
    Ward,
    move,
    place,
    placements_at,
    placements_during,
    seed_admin_units,
)

UTC = dt.UTC
ICT = dt.timezone(dt.timedelta(hours=7))


def _wards(session: Session) -> list[int]:
    seed_admin_units(session)
    return list(session.scalars(select(Ward.code).order_by(Ward.code).limit(3)))


def test_moves_keep_what_was_where_when(session: Session) -> None:
    a, b, c = _wards(session)
    t0 = dt.datetime(2025, 1, 1, tzinfo=UTC)
    place(session, SubjectKind.GATEWAY, "gw-1", at=t0, ward_code=a)
    move(session, SubjectKind.GATEWAY, "gw-1", at=t0 + dt.timedelta(days=30), ward_code=b)
    move(session, SubjectKind.GATEWAY, "gw-1", at=t0 + dt.timedelta(days=60), ward_code=c)

    def ward_at(days: float) -> list[int]:
        at = t0 + dt.timedelta(days=days)
        return [p.ward_code for p in placements_at(session, SubjectKind.GATEWAY, at)]

    assert ward_at(-1) == []
    assert ward_at(0) == [a]
    assert ward_at(29.9) == [a]
    assert ward_at(30) == [b]  # a move takes effect at its instant
    assert ward_at(90) == [c]


def test_a_period_counts_a_subject_where_it_was_at_the_end(session: Session) -> None:
    a, b, c = _wards(session)
    t0 = dt.datetime(2025, 1, 1, tzinfo=UTC)
    place(session, SubjectKind.DEVICE, "d1", at=t0, ward_code=a)
    move(session, SubjectKind.DEVICE, "d1", at=t0 + dt.timedelta(days=10), ward_code=b)
    place(session, SubjectKind.DEVICE, "d2", at=t0 + dt.timedelta(days=20), ward_code=c)

    def wards(start_day: int, end_day: int) -> dict[str, int]:
        found = placements_during(session, SubjectKind.DEVICE, t0 + dt.timedelta(days=start_day),
                                  t0 + dt.timedelta(days=end_day))
        return {subject: p.ward_code for subject, p in found.items()}

    assert wards(0, 5) == {"d1": a}
    assert wards(0, 15) == {"d1": b}  # moved during the period: where it was at the end
    assert wards(10, 30) == {"d1": b, "d2": c}
    assert wards(-5, 0) == {}  # nothing was placed yet


def test_times_in_other_zones_are_compared_as_instants(session: Session) -> None:
    a, b, _ = _wards(session)
    place(session, SubjectKind.DEVICE, "d1", at=dt.datetime(2025, 1, 1, 7, tzinfo=ICT), ward_code=a)
    move(session, SubjectKind.DEVICE, "d1", at=dt.datetime(2025, 1, 2, tzinfo=UTC), ward_code=b)
    # 06:59 in Vietnam on Jan 2 is 23:59 UTC on Jan 1: still in ward a.
    just_before = dt.datetime(2025, 1, 2, 6, 59, tzinfo=ICT)
    assert [p.ward_code for p in placements_at(session, SubjectKind.DEVICE, just_before)] == [a]


def test_invalid_moves_are_refused(session: Session) -> None:
    a, b, _ = _wards(session)
    t0 = dt.datetime(2025, 1, 1, tzinfo=UTC)
    place(session, SubjectKind.DEVICE, "d1", at=t0, ward_code=a)
    with pytest.raises(RegistryError, match="already placed"):
        place(session, SubjectKind.DEVICE, "d1", at=t0, ward_code=b)
    with pytest.raises(RegistryError, match="is not after its current placement"):
        move(session, SubjectKind.DEVICE, "d1", at=t0, ward_code=b)
    with pytest.raises(RegistryError, match="has no time zone"):
        move(session, SubjectKind.DEVICE, "d1", at=dt.datetime(2025, 2, 1), ward_code=b)
