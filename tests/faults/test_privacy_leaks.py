"""Leaks of household data past the k >= 5 rule, each tried with a ministry token (and,
where it matters, another province's) and refused by ``iotgw.api.privacy``.

Found with real tokens against the API: coverage counted a household's meters as
households and hid only electricity meters, and neither availability nor last seen; the
indicator values had no suppression at all, down to each household meter's daily value
at level ``device``; and a province's total less its shown communes gave back a
suppressed one; and a meter moved off its household mid-day, its day's value (over the
household's readings, stored as personal data) listed as a farm's. The province is the one
of ``tests/api/test_privacy.py``.
"""

from __future__ import annotations

import pytest

from tests.api import conftest as api
from tests.api import test_privacy as privacy
from tests.api.conftest import DAY, PROVINCE, Stack, roll_up_again
from tests.api.test_privacy import Homes
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]

homes = privacy.homes  # 1, 2, 6 and 7 households in four communes, k = 5
stack = api.stack  # 2 households in the whole province

HOUSEHOLD_METERS = {"solo-m0", "solo-m1", "solo-m2", "solo-m3", "solo-m4", "flat-e-m", "flat-w-m"}
METER_PROFILES = {"electricity_meter", "water_meter"}


def test_coverage_counts_households_not_their_meters(homes: Homes) -> None:
    own = homes.coverage("dong_thap")[homes.ward["solo"]]
    ministry = homes.coverage("ministry")[homes.ward["solo"]]
    ok = (own["households"], own["devices"]) == (1, 5) and ministry["suppressed"] is True \
        and (ministry["households"], ministry["devices"], ministry["active"]) == (None, 0, 0)
    ledger.refused("coverage: 1 household with 5 meters counted as 5", ok=ok,
                   verdict=f"own province: {own['households']} household, {own['devices']} meters; "
                           f"ministry: households {ministry['households']}, devices {ministry['devices']}")


def test_a_ward_under_k_households_shows_no_household_derived_number(homes: Homes) -> None:
    ministry = homes.coverage("ministry")
    mixed, solo = ministry[homes.ward["mixed"]], ministry[homes.ward["solo"]]
    shown = set(mixed["active_by_profile"]) & METER_PROFILES | set(solo["active_by_profile"])
    ok = (not shown and set(mixed["active_by_sector"]) == {"agriculture"}
          and mixed["availability"] == 50.0 and mixed["last_seen"] < "2026-03-10T05"  # the farm probe's
          and (solo["availability"], solo["last_seen"], solo["active_by_sector"]) == (None, None, {})
          and mixed["households"] is None and mixed["suppressed"] is True)
    ledger.refused("coverage of a ward with < k households: meters, availability, last seen", ok=ok,
                   verdict=f"meter profiles shown: {sorted(shown) or 'none'}; availability "
                           f"{mixed['availability']}, last seen {mixed['last_seen']}: the farm probe's")


def test_households_smart_metered_per_commune_is_suppressed(homes: Homes) -> None:
    values = {v["unit"]: v for v in homes.values("households_smart_metered", "commune").json()["values"]}
    small = [values[str(homes.ward[role])] for role in ("solo", "mixed")]
    ok = all(v["suppressed"] and v["value"] is None and v["numerator"] is None for v in small)
    ledger.refused("households_smart_metered per commune under k households", ok=ok,
                   verdict=f"communes of 1 and 2 households: {[v['value'] for v in small]}, suppressed")


@pytest.mark.parametrize("indicator", ["reporting_availability", "reporting_completeness"])
def test_device_level_values_list_no_household_meter_to_others(homes: Homes, indicator: str) -> None:
    listed = {v["unit"] for v in homes.values(indicator, "device").json()["values"]}
    gateways = {v["unit"] for v in homes.values(indicator, "gateway").json()["values"]}
    own = {v["unit"] for v in homes.values(indicator, "device", who="dong_thap").json()["values"]}
    other = homes.values(indicator, "device", who="dong_nai")
    asked = homes.values(indicator, "device", unit="flat-e-m").json()["values"]  # by its id
    ok = (not listed & HOUSEHOLD_METERS and "probe" in listed and "gw-home" not in gateways and asked == []
          and other.status_code == 403 and own >= HOUSEHOLD_METERS)
    ledger.refused(f"{indicator} per device: household meters to others", ok=ok,
                   verdict=f"ministry sees {len(listed & HOUSEHOLD_METERS)} household meters, another "
                           f"province {other.status_code}, their own province {len(own & HOUSEHOLD_METERS)}")


@pytest.mark.parametrize("indicator", ["households_smart_metered", "reporting_availability",
                                       "active_iot_devices"])
def test_province_total_less_shown_communes_reveals_no_suppressed_one(homes: Homes, indicator: str) -> None:
    """The differencing attack: the hidden communes come back only together, never fewer
    than k households, and their sum matches no single one of them."""
    [total] = homes.values(indicator, "province").json()["values"]
    communes = homes.values(indicator, "commune").json()["values"]
    truth = {v["unit"]: v["numerator"] for v in homes.values(indicator, "commune", who="dong_thap")
             .json()["values"]}
    households = {str(code): row["households"] for code, row in homes.coverage("dong_thap").items()}
    hidden = [v["unit"] for v in communes if v["suppressed"]]
    difference = total["numerator"] - sum(v["numerator"] for v in communes if not v["suppressed"])
    ok = (len(hidden) >= 2 and sum(households[u] for u in hidden) >= 5
          and all(difference != truth[u] for u in hidden) and not total["suppressed"])
    ledger.refused(f"{indicator}: province total less shown communes", ok=ok,
                   verdict=f"{len(hidden)} communes hidden together ({sum(households[u] for u in hidden)} "
                           f"households): the difference {difference:g} is none of them")


def test_a_cached_answer_for_the_province_is_not_served_to_the_ministry(stack: Stack) -> None:
    ward = str(stack.wards[3])  # the 2 households' commune
    path = "/v1/indicators/active_iot_devices/values"
    params = {"province": PROVINCE, "period": "day", "level": "commune", "from": DAY, "to": DAY}
    own = {v["unit"]: v for v in stack.get(path, who="dong_thap", **params).json()["values"]}[ward]
    ministry = {v["unit"]: v for v in stack.get(path, **params).json()["values"]}[ward]
    ok = own["value"] == 2 and ministry["value"] is None and ministry["suppressed"]
    ledger.refused("indicator view cached for the own province, asked by the ministry", ok=ok,
                   verdict=f"own province {own['value']}, then the ministry {ministry['value']}")


def test_the_report_of_a_province_under_k_households_leaves_their_figures_blank(stack: Stack) -> None:
    def figure(who: str) -> str:
        path = f"/v1/provinces/{PROVINCE}/reports/2026/year.csv"
        text = stack.get(path, who=who).content.decode("utf-8-sig")
        [row] = [line for line in text.splitlines() if line.startswith("households_smart_metered,")]
        return row.split(",")[3]
    own, ministry = figure("dong_thap"), figure("ministry")
    ledger.refused("annual report: household figure of a province with 2 households",
                   ok=own != "" == ministry,
                   verdict=f"own province {own!r}, ministry {ministry!r}")


def test_a_households_gateway_is_not_listed_to_others(homes: Homes) -> None:
    """``gw-home`` serves one household's meters: its id, last seen and heartbeat point at it."""
    def listed(who: str) -> set[str]:
        body = homes.stack.get("/v1/gateways", who=who, province=PROVINCE).json()
        return {g["gateway"] for g in body}
    ministry, own = listed("ministry"), listed("dong_thap")
    ok = "gw-home" not in ministry and "gw-1" in ministry and {"gw-home", "gw-1"} <= own
    ledger.refused("gateways: a gateway of one household listed to the ministry", ok=ok,
                   verdict=f"ministry sees {sorted(ministry)}, the own province {sorted(own)}")


def test_a_meter_moved_off_its_household_mid_period_is_not_listed_to_others(stack: Stack) -> None:
    """The rollup stores the day's value of a meter under a household until noon as personal
    data; the registry at the day's end puts it under a farm. The API once judged it by the
    latter and served the household's morning to the ministry."""
    moved = stack.client.post("/v1/registry/moves", headers={
        "Authorization": f"Bearer {stack.tokens['operator']}"}, json={
        "kind": "device", "id": "meter-1", "at": f"{DAY}T12:00:00+07:00", "organisation_id": "farm-1"})
    assert moved.status_code == 200, moved.text
    roll_up_again(stack)

    def listed(who: str, **params: object) -> set[str]:
        body = stack.get("/v1/indicators/reporting_availability/values", who=who, province=PROVINCE,
                         period="day", level="device", **{"from": DAY, "to": DAY}, **params).json()
        return {v["unit"] for v in body["values"]}
    ministry, own = listed("ministry"), listed("dong_thap")
    asked = listed("ministry", unit="meter-1")
    ok = "meter-1" not in ministry | asked and "soil-1" in ministry and "meter-1" in own
    ledger.refused("a meter moved off its household mid-day, per device, to the ministry", ok=ok,
                   verdict=f"ministry sees {sorted(ministry)}, asked for it {sorted(asked)}; "
                           f"the own province {'sees' if 'meter-1' in own else 'misses'} it")
