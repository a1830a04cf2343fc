"""Administrative units: the 2025 provinces and wards, and what replaced the retired ones.

``vietnam-provinces`` ships the current 34 provinces and 3,321 communes and wards (no
districts since July 2025). Units retired by a reorganisation are not in it: their
succession (retired code -> current code, with the date) is imported from the official
decision as CSV, and ``reassign_retired`` moves what was registered under a retired unit
to its successor while keeping the history for earlier periods.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from iotgw.registry.errors import NotFound, RegistryError
from iotgw.registry.models import Placement, Province, Ward
from iotgw.registry.placements import move
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from vietnam_provinces import Province as VnProvince
from vietnam_provinces import Ward as VnWard

# The provinces there are: the registry's own table is seeded from the same list, and no
# province is ever added or retired by hand (a lookup without a query).
PROVINCE_CODES = frozenset(p.code.value for p in VnProvince.iter_all())


def seed_admin_units(session: Session) -> tuple[int, int]:
    """Insert the current provinces and wards that are missing; returns the totals."""
    known_provinces = set(session.scalars(select(Province.code)))
    session.add_all(
        Province(code=p.code.value, name=p.name, codename=p.codename)
        for p in VnProvince.iter_all() if p.code.value not in known_provinces
    )
    session.flush()
    known_wards = set(session.scalars(select(Ward.code)))
    session.add_all(
        Ward(code=w.code.value, name=w.name, province_code=w.province_code.value)
        for w in VnWard.iter_all() if w.code.value not in known_wards
    )
    session.flush()
    provinces = session.scalar(select(func.count()).select_from(Province)) or 0
    wards = session.scalar(select(func.count()).select_from(Ward).where(Ward.retired_on.is_(None))) or 0
    return provinces, wards


@dataclass(frozen=True, slots=True)
class Succession:
    retired_code: int
    retired_name: str
    successor_code: int
    effective: dt.date


def add_succession(session: Session, succession: Succession) -> Ward:
    """Record a retired unit and its successor (idempotent for the same mapping)."""
    successor = session.get(Ward, succession.successor_code)
    if successor is None or successor.retired_on is not None:
        raise RegistryError(f"successor {succession.successor_code} of"
                            f" {succession.retired_code} is not a current ward")
    retired = session.get(Ward, succession.retired_code)
    if retired is None:
        retired = Ward(code=succession.retired_code, name=succession.retired_name,
                       province_code=successor.province_code)
        session.add(retired)
    # A current ward may be retired too: that is what a reorganisation does.
    retired.retired_on = succession.effective
    retired.successor_code = succession.successor_code
    session.flush()
    return retired


def reassign_retired(session: Session, retired_code: int, *, at: dt.datetime) -> int:
    """Move every current placement under a retired ward to its successor, from ``at``.

    Returns how many subjects moved. Earlier periods keep the retired unit.
    """
    retired = session.get(Ward, retired_code)
    if retired is None:
        raise NotFound("ward", retired_code)
    if retired.successor_code is None:
        raise RegistryError(f"ward {retired_code} ({retired.name}) is not retired")
    current = session.scalars(select(Placement).where(
        Placement.ward_code == retired_code, Placement.valid_to.is_(None))).all()
    for placement in current:
        move(session, placement.subject_kind, placement.subject_id, at=at,
             ward_code=retired.successor_code)
    return len(current)


def reassign_all_retired(session: Session, *, at: dt.datetime) -> dict[int, int]:
    """``reassign_retired`` for every retired ward that still has current placements;
    returns how many subjects moved, by retired ward."""
    codes = session.scalars(select(Placement.ward_code).distinct().join(
        Ward, Ward.code == Placement.ward_code).where(
        Ward.retired_on.is_not(None), Placement.valid_to.is_(None))).all()
    return {code: reassign_retired(session, code, at=at) for code in sorted(codes)}
