"""The national comparison: one indicator across the 34 provinces, for ministries and
operators only, with the household privacy rule and the denominators' comparability."""

from __future__ import annotations

import pytest
from iotgw.registry import OrgType, ReferenceCount, Sector, make_engine, session_factory

from tests import registry_setup as reg
from tests.api.conftest import DAY, PLACED, PROVINCE, Stack, report_late

pytestmark = pytest.mark.integration

ELSEWHERE = 75  # Đồng Nai
SENSORS = "/v1/indicators/farms_with_field_sensors/provinces"


def _farm_elsewhere_and_reference_counts_here(stack: Stack) -> None:
    """A farm with a reporting soil probe in Đồng Nai (registered farms as denominator) and
    the statistics office's counts of farms and cooperatives for Đồng Tháp; rolled up again."""
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        [ward] = reg.wards_of(s, ELSEWHERE, 1, current=True)
        reg.add_organisation(s, "farm-dn", OrgType.FARM, Sector.AGRICULTURE, ward=ward, at=PLACED)
        reg.add_device(s, "soil-dn", "soil_probe", Sector.AGRICULTURE, ward=ward, at=PLACED,
                       organisation="farm-dn")
        s.add_all([ReferenceCount(level="province", unit_code=PROVINCE, org_type=t, year=2026, count=n,
                                  source="Cục Thống kê")
                   for t, n in ((OrgType.FARM, 8), (OrgType.COOPERATIVE, 2))])
    report_late(stack, "device=soil-dn", "soil_moisture=35.0")


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


def test_each_province_carries_its_target_as_the_province_view_does(stack: Stack) -> None:
    """The same target and progress as the province's own values; without a value, the target
    and no progress; none where the value is suppressed."""
    with_target = 0
    for indicator in stack.get("/v1/indicators").json():
        if "province" not in indicator["breakdowns"]:
            continue
        body = stack.get(f"/v1/indicators/{indicator['id']}/provinces", period="year", **{"from": DAY}).json()
        here = next(v for v in body["values"] if v["province"] == PROVINCE)
        own = stack.get(f"/v1/indicators/{indicator['id']}/values", province=PROVINCE, period="year",
                        **{"from": DAY, "to": DAY}).json()["values"]
        if own and here["value"] is not None:
            assert here["target"] == own[0]["target"], indicator["id"]
            with_target += here["target"] is not None
        for v in body["values"]:
            if v["suppressed"]:
                assert v["target"] is None
            elif v["value"] is None and v["target"] is not None:
                assert (v["target"]["measured"], v["target"]["gap"], v["target"]["met"]) == (None, None, None)
    assert with_target > 0
    smes = stack.get("/v1/indicators/smes_selling_on_ecommerce_platforms/provinces", period="year",
                     **{"from": DAY}).json()
    here = next(v for v in smes["values"] if v["province"] == PROVINCE)
    assert here["value"] is None  # no data yet: Đồng Tháp's target from the seed plan all the same
    assert (here["target"]["value"], here["target"]["year"], here["target"]["comparator"]) == (55, 2026, ">=")
    assert here["target"]["gap"] is None
    households = stack.get("/v1/indicators/households_smart_metered/provinces", period="day",
                           **{"from": DAY}).json()
    assert next(v for v in households["values"] if v["province"] == PROVINCE)["target"] is None
