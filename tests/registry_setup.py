"""Registry set-up the integration tests share: a migrated SQLite registry with the admin
units, subjects placed in a ward, and the API tokens of the usual roles.

Each helper adds one subject and places it at once, so a test reads as the list of what its
province holds; the placements happen in the order the test calls them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from iotgw.api.auth import create_token
from iotgw.registry import (
    ApiRole,
    Device,
    Gateway,
    Organisation,
    OrgType,
    Sector,
    SubjectKind,
    Ward,
    make_engine,
    place,
    seed_admin_units,
    session_factory,
    upgrade,
)
from sqlalchemy import select
from sqlalchemy.orm import Session


def seeded_registry(path: Path) -> str:
    """A migrated registry file at ``path`` holding the 34 provinces and their wards; its URL."""
    url = f"sqlite:///{path}"
    upgrade(make_engine(url))
    with session_factory(make_engine(url))() as session, session.begin():
        seed_admin_units(session)
    return url


def wards_of(session: Session, province: int, n: int, *, current: bool = False) -> list[int]:
    """The first ``n`` ward codes of ``province`` (only wards not retired if ``current``), so a
    test places its subjects in the same wards on every run."""
    query = select(Ward.code).where(Ward.province_code == province)
    if current:
        query = query.where(Ward.retired_on.is_(None))
    return list(session.scalars(query.order_by(Ward.code).limit(n)))


def add_organisation(session: Session, org_id: str, org_type: OrgType, sector: Sector, *,
                     ward: int, at: dt.datetime) -> None:
    """An organisation named by its id, placed in ``ward`` from ``at``."""
    session.add(Organisation(id=org_id, name=org_id, type=org_type, sector=sector))
    session.flush()
    place(session, SubjectKind.ORGANISATION, org_id, at=at, ward_code=ward)


def add_gateway(session: Session, gateway_id: str, *, ward: int, at: dt.datetime) -> None:
    """A gateway installed on ``at``'s date, placed in ``ward`` from ``at``."""
    session.add(Gateway(id=gateway_id, installed_on=at.date()))
    session.flush()
    place(session, SubjectKind.GATEWAY, gateway_id, at=at, ward_code=ward)


def add_device(session: Session, device_id: str, profile: str, sector: Sector, *, ward: int,
               at: dt.datetime, interval_s: int = 600, organisation: str | None = None,
               gateway: str | None = None) -> None:
    """A device installed on ``at``'s date, placed in ``ward`` from ``at`` under ``organisation``
    and behind ``gateway`` when given."""
    session.add(Device(id=device_id, profile=profile, sector=sector, expected_interval_s=interval_s,
                       installed_on=at.date()))
    session.flush()
    place(session, SubjectKind.DEVICE, device_id, at=at, ward_code=ward, organisation_id=organisation,
          gateway_id=gateway)


def role_tokens(session: Session, province: int, *, organisation: str | None = None) -> dict[str, str]:
    """Tokens for a ministry, ``province`` (acting for ``organisation`` if given), Đồng Nai (75)
    as another province, and an operator: the roles the API tests speak as."""
    return {
        "ministry": create_token(session, "ministry", ApiRole.MINISTRY),
        "dong_thap": create_token(session, "dong-thap", ApiRole.PROVINCE, province=province,
                                  organisation=organisation),
        "dong_nai": create_token(session, "dong-nai", ApiRole.PROVINCE, province=75),
        "operator": create_token(session, "operator", ApiRole.OPERATOR),
    }
