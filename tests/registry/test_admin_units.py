from __future__ import annotations

import datetime as dt

import pytest
from iotgw.registry import (
    NotFound,
    Organisation,
    OrgType,
    Province,
    RegistryError,
    Sector,
    SubjectKind,
    Succession,
    Ward,
    add_succession,
    place,
    placements_at,
    reassign_retired,
    seed_admin_units,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

UTC = dt.UTC


def test_seeded_units_match_the_2025_reorganisation(session: Session) -> None:
    assert seed_admin_units(session) == (34, 3321)
    assert seed_admin_units(session) == (34, 3321)  # idempotent
    names = set(session.scalars(select(Province.name)))
    assert {"Đồng Nai", "Đồng Tháp", "Thành phố Hồ Chí Minh"} <= names
    hcmc = session.scalar(select(Province).where(Province.codename == "ho_chi_minh"))
    assert hcmc is not None
    wards = session.scalars(select(Ward).where(Ward.province_code == hcmc.code)).all()
    assert any(w.name == "Phường Vũng Tàu" for w in wards)  # the former Bà Rịa-Vũng Tàu province


def _two_wards(session: Session) -> tuple[Ward, Ward]:
    seed_admin_units(session)
    wards = session.scalars(select(Ward).where(Ward.name.like("Phường %")).order_by(Ward.code)
                            .limit(2)).all()
    return wards[0], wards[1]


def test_reassigning_a_retired_ward_moves_everything_and_keeps_history(session: Session) -> None:
    old, new = _two_wards(session)
    jan, jul, oct_ = (dt.datetime(2025, m, 1, tzinfo=UTC) for m in (1, 7, 10))
    session.add(Organisation(id="farm-1", name="Trang trại 1", type=OrgType.FARM,
                             sector=Sector.AGRICULTURE))
    place(session, SubjectKind.ORGANISATION, "farm-1", at=jan, ward_code=old.code)
    place(session, SubjectKind.DEVICE, "soil-1", at=jan, ward_code=old.code,
          organisation_id="farm-1")
    add_succession(session, Succession(old.code, old.name, new.code, jul.date()))
    assert reassign_retired(session, old.code, at=jul) == 2
    march = dt.datetime(2025, 3, 1, tzinfo=UTC)
    for kind in (SubjectKind.ORGANISATION, SubjectKind.DEVICE):
        assert [p.ward_code for p in placements_at(session, kind, march)] == [old.code]
        assert [p.ward_code for p in placements_at(session, kind, oct_)] == [new.code]
    device_now = placements_at(session, SubjectKind.DEVICE, oct_)[0]
    assert device_now.organisation_id == "farm-1"  # what was not moved stays
    with pytest.raises(RegistryError, match="was retired on 2025-07-01; its successor is"):
        place(session, SubjectKind.GATEWAY, "gw-1", at=oct_, ward_code=old.code)


def test_a_legacy_unit_can_be_mapped_to_its_successor(session: Session) -> None:
    _, new = _two_wards(session)
    retired = add_succession(session, Succession(99_001, "Phường 1 (cũ)", new.code,
                                                 dt.date(2025, 7, 1)))
    assert retired.province_code == new.province_code and retired.successor_code == new.code
    with pytest.raises(RegistryError, match="is not a current ward"):
        add_succession(session, Succession(99_002, "x", 99_001, dt.date(2025, 7, 1)))


def test_reassign_refuses_unknown_or_current_units(session: Session) -> None:
    old, _ = _two_wards(session)
    with pytest.raises(NotFound):
        reassign_retired(session, 12_345_678, at=dt.datetime(2025, 7, 1, tzinfo=UTC))
    with pytest.raises(RegistryError, match="is not retired"):
        reassign_retired(session, old.code, at=dt.datetime(2025, 7, 1, tzinfo=UTC))
