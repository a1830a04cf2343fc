from __future__ import annotations

import datetime as dt

import pytest
from iotgw.registry import (
    Device,
    Gateway,
    NotFound,
    Organisation,
    OrgType,
    RegistryError,
    Sector,
    SubjectKind,
    Ward,
    move,
    place,
    placements_at,
    placements_during,
    seed_admin_units,
)
from iotgw.registry.placements import outside_province
from sqlalchemy import select
from sqlalchemy.orm import Session

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


def _device_on_gateway(session: Session) -> tuple[int, int, int]:
    """Ward a (province p), ward b in p, ward c in another province; d1 on gw-1 in a."""
    seed_admin_units(session)
    a, b = session.scalars(select(Ward.code).where(Ward.province_code == 1, Ward.retired_on.is_(None))
                           .order_by(Ward.code).limit(2))
    c = session.scalar(select(Ward.code).where(Ward.province_code == 82).order_by(Ward.code).limit(1))
    t0 = dt.datetime(2025, 1, 1, tzinfo=UTC)
    session.add_all([
        Organisation(id="coop-1", name="HTX", type=OrgType.COOPERATIVE, sector=Sector.AGRICULTURE),
        Gateway(id="gw-1", installed_on=t0.date()), Gateway(id="gw-2", installed_on=t0.date()),
        Device(id="d1", profile="soil_probe", sector=Sector.AGRICULTURE, expected_interval_s=60,
               installed_on=t0.date())])
    session.flush()
    place(session, SubjectKind.GATEWAY, "gw-1", at=t0, ward_code=a)
    place(session, SubjectKind.GATEWAY, "gw-2", at=t0, ward_code=c)
    place(session, SubjectKind.ORGANISATION, "coop-1", at=t0, ward_code=a)
    place(session, SubjectKind.DEVICE, "d1", at=t0, ward_code=a, gateway_id="gw-1")
    return a, b, c


def test_a_move_changes_only_what_is_given(session: Session) -> None:
    a, b, _ = _device_on_gateway(session)
    t1 = dt.datetime(2025, 3, 1, tzinfo=UTC)
    new = move(session, SubjectKind.DEVICE, "d1", at=t1, organisation_id="coop-1")
    assert (new.ward_code, new.gateway_id, new.organisation_id, new.valid_from) == (a, "gw-1", "coop-1", t1)
    new = move(session, SubjectKind.DEVICE, "d1", at=t1 + dt.timedelta(days=1), ward_code=b,
               gateway_id=None)  # None: on no gateway now (a node that talks to the broker itself)
    assert (new.ward_code, new.gateway_id, new.organisation_id) == (b, None, "coop-1")
    before = placements_at(session, SubjectKind.DEVICE, t1 - dt.timedelta(seconds=1))
    assert [(p.ward_code, p.gateway_id, p.valid_to) for p in before] == [(a, "gw-1", t1)]


def test_a_gateway_moves_alone_its_devices_keep_their_placements(session: Session) -> None:
    a, b, _ = _device_on_gateway(session)
    move(session, SubjectKind.GATEWAY, "gw-1", at=dt.datetime(2025, 3, 1, tzinfo=UTC), ward_code=b)
    [device] = placements_at(session, SubjectKind.DEVICE, dt.datetime(2025, 4, 1, tzinfo=UTC))
    assert (device.ward_code, device.gateway_id, device.valid_to) == (a, "gw-1", None)


@pytest.mark.parametrize(("changes", "error", "message"), [
    ({"subject_id": "ghost"}, NotFound, "no device 'ghost'"),
    ({"subject_id": "iotgw admin"}, RegistryError, "invalid device id 'iotgw admin'"),
    ({"ward_code": 99_999_999}, NotFound, "no ward 99999999"),
    ({"gateway_id": "gw-9"}, NotFound, "no gateway 'gw-9'"),
    ({"gateway_id": "gw 9"}, RegistryError, "invalid gateway id 'gw 9'"),
    ({"organisation_id": "org-9"}, NotFound, "no organisation 'org-9'"),
    ({"ward_code": None}, RegistryError, "nothing to move"),
    ({"at": dt.datetime(2024, 12, 31, tzinfo=UTC)}, RegistryError, "is not after its current placement"),
    ({"kind": SubjectKind.GATEWAY, "subject_id": "gw-1", "gateway_id": "gw-2"}, RegistryError,
     "only devices move between gateways"),
    ({"kind": SubjectKind.ORGANISATION, "subject_id": "coop-1", "organisation_id": None}, RegistryError,
     "under no organisation"),
])
def test_a_bad_move_changes_nothing(session: Session, changes: dict, error: type, message: str) -> None:
    a, b, _ = _device_on_gateway(session)
    args = {"kind": SubjectKind.DEVICE, "subject_id": "d1", "at": dt.datetime(2025, 3, 1, tzinfo=UTC),
            "ward_code": b, **changes}
    with pytest.raises(error, match=message):
        move(session, args.pop("kind"), args.pop("subject_id"), **args)
    now = placements_at(session, SubjectKind.DEVICE, dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert [(p.ward_code, p.gateway_id, p.valid_to) for p in now] == [(a, "gw-1", None)]


def test_a_retired_ward_or_a_decommissioned_gateway_is_no_target(session: Session) -> None:
    a, b, _ = _device_on_gateway(session)
    session.get(Ward, b).retired_on, session.get(Ward, b).successor_code = dt.date(2025, 2, 1), a
    session.flush()
    at = dt.datetime(2025, 3, 1, tzinfo=UTC)
    with pytest.raises(RegistryError, match=f"ward {b} .* was retired on 2025-02-01"):
        move(session, SubjectKind.DEVICE, "d1", at=at, ward_code=b)
    move(session, SubjectKind.GATEWAY, "gw-2", at=at, ward_code=a)
    gateway = placements_at(session, SubjectKind.GATEWAY, at)[-1]
    gateway.valid_to = at + dt.timedelta(days=1)  # decommissioned
    session.flush()
    with pytest.raises(RegistryError, match="gateway 'gw-2' has been placed nowhere since"):
        move(session, SubjectKind.DEVICE, "d1", at=at + dt.timedelta(days=2), gateway_id="gw-2")
    with pytest.raises(RegistryError, match="gateway 'gw-2' has been placed nowhere since"):
        move(session, SubjectKind.GATEWAY, "gw-2", at=at + dt.timedelta(days=2), ward_code=b)


def test_outside_province_names_each_part_of_a_move_elsewhere(session: Session) -> None:
    _, b, c = _device_on_gateway(session)
    assert outside_province(session, 1, SubjectKind.DEVICE, "d1", ward_code=b, organisation_id="coop-1",
                            gateway_id="gw-1") == []
    assert outside_province(session, 1, SubjectKind.DEVICE, "d1", ward_code=c, gateway_id="gw-2") == [
        f"ward {c} is in province 82, not 1", "gateway gw-2 is in province 82, not 1"]
    assert outside_province(session, 82, SubjectKind.DEVICE, "d1", ward_code=c) == [
        "device d1 is in province 1, not 82"]
    assert outside_province(session, 82, SubjectKind.DEVICE, "ghost", gateway_id="gw-404") == []
