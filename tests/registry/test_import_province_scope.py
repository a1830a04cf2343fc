"""A province's administrator imports rows whose every reference is in the province: the
row's ward, and the gateway and organisation it names, each where its latest placement
puts it. Before, only ``ward_code`` was checked, so a device placed in the province's own
ward could be put on another province's gateway, under another province's household."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from iotgw.registry import (
    Device,
    Gateway,
    Organisation,
    OrgType,
    OutsideProvince,
    Sector,
    SubjectKind,
    Ward,
    move,
    place,
    seed_admin_units,
)
from iotgw.registry.csv_import import import_csv, import_rows
from sqlalchemy import func, select
from sqlalchemy.orm import Session

HERE, THERE = 82, 79
PLACED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _ward(session: Session, province: int, n: int = 0) -> int:
    return session.scalars(select(Ward.code).where(Ward.province_code == province, Ward.retired_on.is_(None))
                           .order_by(Ward.code).offset(n).limit(1)).one()


@pytest.fixture
def wards(session: Session) -> dict[int, int]:
    """A ward of each province, with a gateway and a household in each."""
    seed_admin_units(session)
    wards = {HERE: _ward(session, HERE), THERE: _ward(session, THERE)}
    for province, ward in wards.items():
        session.add_all([Organisation(id=f"home-{province}", name="a household", sector=Sector.ENERGY,
                                      type=OrgType.HOUSEHOLD_METER_POINT),
                         Gateway(id=f"gw-{province}", installed_on=PLACED.date())])
        session.flush()
        place(session, SubjectKind.ORGANISATION, f"home-{province}", at=PLACED, ward_code=ward)
        place(session, SubjectKind.GATEWAY, f"gw-{province}", at=PLACED, ward_code=ward)
    session.flush()
    return wards


def _devices(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Device)) or 0


def _device_csv(ward: int, gateway: str, organisation: str = "") -> io.StringIO:
    return io.StringIO("id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code,"
                       "organisation_id\n"
                       f"meter-ok,gw-{HERE},electricity_meter,energy,60,2026-02-01,{ward},home-{HERE}\n"
                       f"meter-x,{gateway},electricity_meter,energy,60,2026-02-01,{ward},{organisation}\n")


def test_a_device_on_another_province_s_gateway_is_refused_naming_line_and_field(
        session: Session, wards: dict[int, int]) -> None:
    with pytest.raises(OutsideProvince) as refused:
        import_csv(session, "devices", _device_csv(wards[HERE], f"gw-{THERE}"), source="devices.csv",
                   province=HERE)
    want = f"devices.csv: line 3: gateway_id: gw-{THERE} is in province {THERE}, not {HERE}"
    assert want in str(refused.value)
    assert _devices(session) == 0


def test_a_device_under_another_province_s_household_is_refused(
        session: Session, wards: dict[int, int]) -> None:
    with pytest.raises(OutsideProvince) as refused:
        import_csv(session, "devices", _device_csv(wards[HERE], f"gw-{HERE}", f"home-{THERE}"),
                   source="devices.csv", province=HERE)
    assert (f"line 3: organisation_id: home-{THERE} is in province {THERE}, not {HERE}"
            in str(refused.value))
    assert _devices(session) == 0


def test_a_gateway_under_another_province_s_organisation_is_refused_from_json(
        session: Session, wards: dict[int, int]) -> None:
    rows = [{"id": "gw-new", "ward_code": wards[HERE], "installed_on": "2026-02-01",
             "organisation_id": f"home-{THERE}"}]
    with pytest.raises(OutsideProvince) as refused:
        import_rows(session, "gateways", enumerate(rows, start=1), source="gateways.json", province=HERE)
    assert (f"gateways.json: line 1: organisation_id: home-{THERE} is in province {THERE}, not {HERE}"
            in str(refused.value))
    assert session.get(Gateway, "gw-new") is None


def test_where_a_gateway_is_now_counts(session: Session, wards: dict[int, int]) -> None:
    """A gateway that moved away is another province's, whatever it was before."""
    move(session, SubjectKind.GATEWAY, f"gw-{HERE}", at=PLACED + dt.timedelta(days=30),
         ward_code=wards[THERE])
    with pytest.raises(OutsideProvince, match=f"gateway_id: gw-{HERE} is in province {THERE}"):
        import_csv(session, "devices", _device_csv(wards[HERE], f"gw-{HERE}"), source="devices.csv",
                   province=HERE)


def test_references_within_the_province_import(session: Session, wards: dict[int, int]) -> None:
    assert import_csv(session, "devices", _device_csv(wards[HERE], f"gw-{HERE}", f"home-{HERE}"),
                      source="devices.csv", province=HERE) == 2


def test_operators_import_across_provinces(session: Session, wards: dict[int, int]) -> None:
    assert import_csv(session, "devices", _device_csv(wards[HERE], f"gw-{THERE}", f"home-{THERE}"),
                      source="devices.csv") == 2
