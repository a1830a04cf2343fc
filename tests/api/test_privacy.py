"""The privacy rule for households (``iotgw.api.privacy``), on a province whose communes
hold few and many households, through the real rollup and API.

Đồng Tháp (82), day ``DAY``, k = 5:
- ward ``solo``: one household with 5 electricity meters on its own gateway;
- ward ``mixed``: a farm's soil probe reporting the morning only, and two households,
  one with an electricity meter, one with a water meter, reporting all day;
- ward ``six`` and ward ``seven``: 6 and 7 households, one electricity meter each.
The tests of the leaks themselves, with their fault-table rows, are in
``tests/faults/test_privacy_leaks.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from iotgw.api.privacy import Rule
from iotgw.registry import OrgType, Sector, make_engine, session_factory
from iotgw.rollup.periods import local_midnight_ms
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.schema import HOUR_MS, personal_database

from iotgw.processes import Influxd
from tests import registry_setup as reg
from tests.api.conftest import DAY, MIN, PLACED, PROVINCE, Stack, serve

pytestmark = pytest.mark.integration

WHEN = {"from": DAY, "to": DAY}


@dataclass
class Homes:
    """The stack, and the wards by their role above."""

    stack: Stack
    ward: dict[str, int]

    def coverage(self, who: str) -> dict[int, dict]:
        body = self.stack.get(f"/v1/provinces/{PROVINCE}/coverage", who=who, date=DAY).json()
        return {row["commune"]: row for row in body["communes"]}

    def values(self, indicator: str, level: str, who: str = "ministry", **params: object):
        return self.stack.get(f"/v1/indicators/{indicator}/values", who=who, province=PROVINCE,
                              period="day", level=level, **WHEN, **params)


def _register(url: str) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """Returns the wards by role, the tokens, and each device's quantity."""
    with session_factory(make_engine(url))() as s, s.begin():
        ward = dict(zip(["solo", "mixed", "six", "seven"], reg.wards_of(s, PROVINCE, 4), strict=True))

        def org(org_id: str, org_type: OrgType, where: int) -> None:
            reg.add_organisation(s, org_id, org_type, Sector.ENERGY, ward=where, at=PLACED)

        quantity = {}

        def device(device_id: str, profile: str, sector: Sector, where: int, owner: str,
                   gateway: str, field: str) -> None:
            reg.add_device(s, device_id, profile, sector, ward=where, at=PLACED, organisation=owner,
                           gateway=gateway)
            quantity[device_id] = field

        for gateway, where in (("gw-home", ward["solo"]), ("gw-1", ward["mixed"])):
            reg.add_gateway(s, gateway, ward=where, at=PLACED)
        home = OrgType.HOUSEHOLD_METER_POINT
        org("solo", home, ward["solo"])
        for n in range(5):
            device(f"solo-m{n}", "electricity_meter", Sector.ENERGY, ward["solo"], "solo", "gw-home",
                   "active_energy")
        org("farm", OrgType.FARM, ward["mixed"])
        device("probe", "soil_probe", Sector.AGRICULTURE, ward["mixed"], "farm", "gw-1", "soil_moisture")
        org("flat-e", home, ward["mixed"])
        device("flat-e-m", "electricity_meter", Sector.ENERGY, ward["mixed"], "flat-e", "gw-1",
               "active_energy")
        org("flat-w", home, ward["mixed"])
        device("flat-w-m", "water_meter", Sector.WATER, ward["mixed"], "flat-w", "gw-1", "water_volume")
        for role, count in (("six", 6), ("seven", 7)):
            for n in range(count):
                org(f"{role}-{n}", home, ward[role])
                device(f"{role}-{n}-m", "electricity_meter", Sector.ENERGY, ward[role], f"{role}-{n}",
                       "gw-1", "active_energy")
        tokens = reg.role_tokens(s, PROVINCE)
    return ward, tokens, quantity


def _write_day(influx: InfluxClient, database: str, quantity: dict[str, str]) -> None:
    """Every 10 minutes all day; the farm's probe only until noon (local)."""
    start = local_midnight_ms(DAY)
    times = [start + m * MIN for m in range(0, 24 * 60, 10)]
    household = ("telemetry,gateway={gw},organisation_type=household_meter_point,device={d}"
                 ' {q}={v},quality="good" {t}')
    influx.write_lines(personal_database(database), "\n".join(
        household.format(gw="gw-home" if d.startswith("solo") else "gw-1", d=d, q=q, v=100 + i, t=t)
        for d, q in quantity.items() if d != "probe" for i, t in enumerate(times)))
    lines = [f'telemetry,device=probe,gateway=gw-1 soil_moisture=30.0,quality="good" {t}'
             for t in times if t < start + 12 * HOUR_MS]
    lines += [f"touched_hours written_at={start + 25 * HOUR_MS}i {start + h * HOUR_MS}" for h in range(24)]
    influx.write_lines(database, "\n".join(lines))


@contextmanager
def homes_stack(influxd: Influxd, influx: InfluxClient, database: str, tmp_path: Path) -> Iterator[Homes]:
    """The province above, rolled up by the real rollup, behind the real API (no view cache,
    so that each request is computed for its own token)."""
    url = reg.seeded_registry(tmp_path / "registry.sqlite")
    ward, tokens, quantity = _register(url)
    with serve(influxd, influx, database, url, tokens, list(ward.values()),
               lambda client, db: _write_day(client, db, quantity), cache_s=0) as stack:
        yield Homes(stack, ward)


@pytest.fixture
def homes(influxd: Influxd, influx: InfluxClient, database: str, tmp_path: Path) -> Iterator[Homes]:
    with homes_stack(influxd, influx, database, tmp_path) as built:
        yield built


@pytest.mark.parametrize(("cells", "hidden"), [
    ({"a": {"h1"}, "b": {"h2", "h3", "h4", "h5", "h6"}, "c": set()}, {"a", "b"}),  # a's complement: b
    ({"a": {"h1"}, "b": {"h2"}, "c": {f"c{n}" for n in range(6)}, "d": {f"d{n}" for n in range(9)}},
     {"a", "b", "c"}),  # a and b hide 2 households: c joins them, the smaller of c and d
    ({"a": {"h1", "h2", "h3"}, "b": {"h3", "h4", "h5"}}, {"a", "b"}),  # 5 distinct: enough
    ({"a": {"h1"}}, {"a"}),  # nothing else to hide with it: a total over it is hidden too
    ({"a": {f"h{n}" for n in range(5)}, "b": set()}, set()),
])
def test_complementary_suppression_hides_groups_of_at_least_k_households(
        cells: dict[str, set[str]], hidden: set[str]) -> None:
    rule = Rule(sees_households=False, suppress_below=5)
    assert rule.hidden({unit: frozenset(homes) for unit, homes in cells.items()}) == hidden
    assert Rule(sees_households=True, suppress_below=5).hidden(
        {unit: frozenset(homes) for unit, homes in cells.items()}) == set()


def test_the_own_province_sees_every_household_number(homes: Homes) -> None:
    own = homes.coverage("dong_thap")
    solo, mixed = own[homes.ward["solo"]], own[homes.ward["mixed"]]
    assert (solo["households"], solo["devices"], solo["suppressed"]) == (1, 5, False)  # 1 household, 5 meters
    assert (mixed["households"], mixed["devices"]) == (2, 3)
    assert mixed["active_by_profile"] == {"soil_probe": 1, "electricity_meter": 1, "water_meter": 1}
    assert mixed["last_seen"] > "2026-03-10T04"  # the meters' last hour, after the probe's (noon local)
    meters = homes.values("reporting_availability", "device", who="dong_thap").json()["values"]
    assert {v["unit"] for v in meters} >= {"solo-m0", "flat-e-m", "flat-w-m"}
    assert not any(v["suppressed"] for v in meters)


def test_a_suppressed_commune_still_shows_its_other_devices(homes: Homes) -> None:
    mixed = homes.coverage("ministry")[homes.ward["mixed"]]
    assert (mixed["devices"], mixed["active"], mixed["active_by_profile"]) == (1, 1, {"soil_probe": 1})
    assert mixed["availability"] == 50.0  # the probe's morning
    assert mixed["last_seen"] < "2026-03-10T05"  # the probe's last hour: 11:00 local = 04:00 UTC
    seven = homes.coverage("ministry")[homes.ward["seven"]]
    assert (seven["households"], seven["suppressed"]) == (7, False)  # at least k households: shown


def test_the_report_leaves_a_suppressed_figure_blank_but_not_for_the_province(stack: Stack) -> None:
    """``stack`` has 2 households in all: their province-level figure is suppressed."""
    assert _report_figure(stack, "ministry", "households_smart_metered") == ""
    assert _report_figure(stack, "dong_thap", "households_smart_metered") == "100"


def test_the_report_shows_a_figure_over_k_households(homes: Homes) -> None:
    # 16 households, 15 with an electricity meter (flat-w has a water meter only).
    assert _report_figure(homes.stack, "ministry", "households_smart_metered") == "93.75"


def _report_figure(stack: Stack, who: str, indicator: str) -> str:
    text = stack.get(f"/v1/provinces/{PROVINCE}/reports/2026/H1.csv", who=who).content.decode("utf-8-sig")
    [row] = [line for line in text.splitlines() if line.startswith(f"{indicator},")]
    return row.split(",")[3]
