"""The record of reads of households' personal data: written by the reading request,
read newest first by operators (``read_access_log``, ``iotgw registry access-log``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from iotgw.registry import (
    ApiRole,
    PersonalDataAccess,
    Reader,
    Ward,
    make_engine,
    read_access_log,
    record_household_rows,
    record_reading,
    seed_admin_units,
    session_factory,
    upgrade,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.iotgw.test_cli import iotgw

ROUTE = "GET /v1/devices/{device_id}/readings"
PROVINCE = 82


def _reader(token: str = "dong-thap") -> Reader:
    return Reader(token, ApiRole.PROVINCE, ROUTE)


def test_reads_are_listed_newest_first_by_province_and_time(session: Session) -> None:
    record_reading(session, _reader("first"), device_id="meter-1", organisation_id="home-1",
                   province=PROVINCE)
    session.flush()
    middle = dt.datetime.now(dt.UTC)
    record_reading(session, _reader("second"), device_id="meter-2", organisation_id="home-2",
                   province=PROVINCE)
    record_reading(session, _reader("elsewhere"), device_id="meter-9", organisation_id="home-9", province=75)
    session.commit()
    assert [r.token_id for r in read_access_log(session)] == ["elsewhere", "second", "first"]
    assert [r.token_id for r in read_access_log(session, province=PROVINCE)] == ["second", "first"]
    assert [r.token_id for r in read_access_log(session, province=PROVINCE, since=middle)] == ["second"]
    assert [r.token_id for r in read_access_log(session, limit=1)] == ["elsewhere"]
    row = read_access_log(session, limit=1)[0]
    assert (row.role, row.route, row.device_id, row.organisation_id, row.province_code) == (
        ApiRole.PROVINCE, ROUTE, "meter-9", "home-9", 75)
    assert row.at.tzinfo is not None


@pytest.mark.parametrize(("limit", "since", "named"), [
    (0, None, "limit must be between 1 and 1000, not 0"),
    (1001, None, "limit must be between 1 and 1000, not 1001"),
    (10, dt.datetime(2026, 3, 1), "since 2026-03-01T00:00:00 has no time zone")])
def test_bad_bounds_are_refused_by_name(session: Session, limit: int, since: dt.datetime | None,
                                        named: str) -> None:
    with pytest.raises(ValueError) as refused:
        read_access_log(session, since=since, limit=limit)
    assert named in str(refused.value)


def test_household_rows_read_are_recorded_one_each(session: Session) -> None:
    seed_admin_units(session)
    ward = session.scalars(select(Ward.code).where(Ward.province_code == PROVINCE).limit(1)).one()
    rows = [{"id": "home-1", "type": "household_meter_point", "ward_code": ward},
            {"id": "farm-1", "type": "farm", "ward_code": ward},
            {"id": "home-2", "type": "household_meter_point", "ward_code": ward}]
    reader = Reader("operator", ApiRole.OPERATOR, "GET /v1/registry/organisations")
    assert record_household_rows(session, reader, rows) == 2
    session.commit()
    logged = session.scalars(select(PersonalDataAccess).order_by(PersonalDataAccess.organisation_id)).all()
    assert [(r.organisation_id, r.device_id, r.province_code) for r in logged] == [
        ("home-1", None, PROVINCE), ("home-2", None, PROVINCE)]


def test_the_cli_prints_the_log_newest_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        record_reading(session, _reader("older"), device_id="meter-1", organisation_id="home-1",
                       province=PROVINCE)
        session.flush()
        record_reading(session, _reader("newer"), device_id="meter-2", organisation_id="home-2",
                       province=PROVINCE)
    result = iotgw("registry", "access-log", "--url", url, "--province", str(PROVINCE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.index("newer") < result.stdout.index("older")
    assert "meter-2" in result.stdout and "home-1" in result.stdout
    bad = iotgw("registry", "access-log", "--url", url, "--since", "2026-03-01T00:00:00")
    assert bad.returncode == 2 and "--since 2026-03-01T00:00:00 needs a UTC offset" in bad.stderr
