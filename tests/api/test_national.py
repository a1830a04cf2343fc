"""The national comparison: one indicator across the 34 provinces, for ministries and
operators only, with the household privacy rule and the denominators' comparability."""

from __future__ import annotations

import pytest
from iotgw.registry import (
    Device,
    Organisation,
    OrgType,
    ReferenceCount,
    Sector,
    SubjectKind,
    Ward,
    make_engine,
    place,
    session_factory,
)
from iotgw.rollup.periods import local_midnight_ms
from iotgw.tsdb.schema import HOUR_MS
from sqlalchemy import select

from tests.api.conftest import DAY, MIN, PLACED, PROVINCE, Stack
from tests.api.test_reports_filing import roll_up_again

pytestmark = pytest.mark.integration

ELSEWHERE = 75  # Đồng Nai
SENSORS = "/v1/indicators/farms_with_field_sensors/provinces"


def _farm_elsewhere_and_reference_counts_here(stack: Stack) -> None:
    """A farm with a reporting soil probe in Đồng Nai (registered farms as denominator) and
    the statistics office's counts of farms and cooperatives for Đồng Tháp; rolled up again."""
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        ward = s.scalars(select(Ward.code).where(Ward.province_code == ELSEWHERE, Ward.retired_on.is_(None))
                         .order_by(Ward.code).limit(1)).one()
        s.add(Organisation(id="farm-dn", name="farm-dn", type=OrgType.FARM, sector=Sector.AGRICULTURE))
        s.add(Device(id="soil-dn", profile="soil_probe", sector=Sector.AGRICULTURE, expected_interval_s=600,
                     installed_on=PLACED.date()))
        s.flush()
        place(s, SubjectKind.ORGANISATION, "farm-dn", at=PLACED, ward_code=ward)
        place(s, SubjectKind.DEVICE, "soil-dn", at=PLACED, ward_code=ward, organisation_id="farm-dn")
        s.add_all([ReferenceCount(level="province", unit_code=PROVINCE, org_type=t, year=2026, count=n,
                                  source="Cục Thống kê")
                   for t, n in ((OrgType.FARM, 8), (OrgType.COOPERATIVE, 2))])
    start = local_midnight_ms(DAY)
    lines = [f'telemetry,device=soil-dn soil_moisture=35.0,quality="good" {start + m * MIN}'
             for m in range(0, 24 * 60, 10)]
    lines += [f"touched_hours written_at={start + 26 * HOUR_MS}i {start + h * HOUR_MS}" for h in range(24)]
    stack.influx.write_lines(stack.database, "\n".join(lines))
    roll_up_again(stack)


def test_a_ministry_compares_every_province_and_learns_when_denominators_differ(stack: Stack) -> None:
    before = stack.get(SENSORS, period="half", **{"from": DAY})  # the year's is asked after the change
    assert before.status_code == 200, before.text
    body = before.json()
    assert len(body["values"]) == 34 and body["period"] == "2026-H1"
    here = next(v for v in body["values"] if v["province"] == PROVINCE)
    assert here["value"] == pytest.approx(100 / 3) and here["denominator_source"] == "registered"
    assert "Đồng Tháp (mã 82)" in here["area"] and here["evidence"] == {"telemetry": 1}
    assert body["comparable"] is True and body["why"] is None
    assert all(v["evidence"] == {} for v in body["values"] if v["value"] is None)

    _farm_elsewhere_and_reference_counts_here(stack)
    after = stack.get(SENSORS, who="operator", period="year", **{"from": DAY}).json()
    by_code = {v["province"]: v for v in after["values"]}
    here = by_code[PROVINCE]
    assert here["denominator"] == 10 and here["denominator_source"] == "reference_counts"
    assert by_code[ELSEWHERE]["value"] == 100 and by_code[ELSEWHERE]["denominator_source"] == "registered"
    assert after["comparable"] is False
    assert "reference_counts in 1 province(s) (82)" in after["why"] and "registered" in after["why"]
    assert sum(v["value"] is None for v in after["values"]) == 32  # the rest have no data


def test_household_figures_follow_the_privacy_rule(stack: Stack) -> None:
    body = stack.get("/v1/indicators/households_smart_metered/provinces", period="day",
                     **{"from": DAY}).json()
    here = next(v for v in body["values"] if v["province"] == PROVINCE)
    assert here["suppressed"] is True and here["value"] is None and here["numerator"] is None
    assert here["evidence"] == {}  # its mix would give the households' count away


def test_each_value_carries_its_evidence_mix_as_the_province_view_does(stack: Stack) -> None:
    """farm-1 counted by its active probe, coop-1 by its use of the platform, no declaration."""
    indicator = "farms_coops_using_platform"
    body = stack.get(f"/v1/indicators/{indicator}/provinces", period="day", **{"from": DAY}).json()
    here = next(v for v in body["values"] if v["province"] == PROVINCE)
    assert here["evidence"] == {"declaration": 0, "telemetry": 1, "platform_use": 1}
    [own] = stack.get(f"/v1/indicators/{indicator}/values", province=PROVINCE, period="day",
                      **{"from": DAY, "to": DAY}).json()["values"]
    assert here["evidence"] == own["evidence"] and here["numerator"] == own["numerator"]


def test_a_province_or_organisation_token_may_not_compare(stack: Stack) -> None:
    response = stack.get(SENSORS, who="dong_thap", period="year")
    assert response.status_code == 403 and "ministry, operator" in response.json()["detail"]
    assert stack.get("/v1/indicators/nothing/provinces").status_code == 404
    assert stack.get(SENSORS, period="week").status_code == 422
    assert stack.get(SENSORS, **{"from": "1999-01-01"}).status_code == 422
