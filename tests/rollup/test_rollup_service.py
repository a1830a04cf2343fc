"""Indicators end to end on a real influxd and a registry, against hand-computed figures.

The data is written as ingest writes it (telemetry points and the touched-hour marks in
the same request; the spine test checks that ingest does so)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from iotgw.devices.links import RegistryLink
from iotgw.registry import (
    OrgType,
    ReferenceCount,
    Sector,
    make_engine,
    session_factory,
)
from iotgw.rollup.catalogue import Catalogue, Indicator, load_catalogue
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.periods import Period, local_midnight_ms
from iotgw.rollup.service import RollupService
from iotgw.rollup.store import read_values
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig
from iotgw.tsdb.schema import HOUR_MS, INDICATORS, RAW_RP, ROLLUP_RP, personal_database

from iotgw.processes import Influxd
from tests import registry_setup as reg

pytestmark = pytest.mark.integration

DAY1, DAY2 = dt.date(2026, 3, 10), dt.date(2026, 3, 11)
PLACED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MIN = 60_000
TEN_COMMUNES = Indicator.model_validate({
    "id": "ten_communes_with_station", "name_vi": "x", "name_en": "x", "kind": "iot_coverage",
    "unit": "%", "numerator": "x", "denominator": "x", "breakdowns": ["province", "commune"],
    "formula": {"kind": "ward_share", "device_profiles": ["air_quality"], "wards": []},
    "sources": [{"seed": "000_e9677575aa9b099a.txt", "line": 147, "quote": "quan trắc môi"}],
})


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


@pytest.fixture
def registry_url(tmp_path: Path) -> str:
    return reg.seeded_registry(tmp_path / "registry.sqlite")


def _wards(url: str, n: int = 10) -> list[int]:
    with session_factory(make_engine(url))() as session:
        return reg.wards_of(session, 75, n)


def _register(url: str, orgs: list[tuple[str, OrgType, int]],
              devices: list[tuple[str, str, int, str | None, int]]) -> None:
    """orgs: (id, type, ward); devices: (id, profile, ward, organisation, interval_s)."""
    with session_factory(make_engine(url))() as session, session.begin():
        for org_id, org_type, ward in orgs:
            reg.add_organisation(session, org_id, org_type, Sector.AGRICULTURE, ward=ward, at=PLACED)
        for device_id, profile, ward, org_id, interval_s in devices:
            reg.add_device(session, device_id, profile, Sector.ENVIRONMENT, ward=ward, at=PLACED,
                           interval_s=interval_s, organisation=org_id)


def _readings(influx: InfluxClient, db: str, device: str, times: list[int], written_at: int,
              field: str = "pm2_5=12.0") -> None:
    """As ingest writes them: the points and, in the same request, the hours they touch."""
    lines = [f'telemetry,device={device},gateway=gw-1 {field},quality="good" {ts}' for ts in times]
    lines += [f"touched_hours written_at={written_at}i {h * HOUR_MS}"
              for h in sorted({ts // HOUR_MS for ts in times})]
    influx.write_lines(db, "\n".join(lines))


@pytest.fixture
def make_service(influxd: Influxd, influx: InfluxClient, database: str, registry_url: str) -> Iterator:
    influx.create_retention_policy(database, RAW_RP, duration="INF", default=True)  # as ingest does
    services: list[RollupService] = []

    def make(clock: Clock, catalogue: Catalogue | None = None, **options: int) -> RollupService:
        cfg = RollupConfig(influx=InfluxConfig(url=influxd.url, database=database),
                           registry=RegistryLink(url=registry_url), **options)
        service = RollupService(cfg, catalogue, clock=clock)
        service.prepare()
        services.append(service)
        return service
    yield make
    for service in services:
        service.influx.close()


def _value(influx: InfluxClient, db: str, indicator: str, period: Period, level: str = "province",
           unit: str = "75") -> dict:
    series = influx.query(db, (
        f'SELECT * FROM "{ROLLUP_RP}"."{INDICATORS}" WHERE "indicator" = \'{indicator}\''
        f" AND \"period\" = '{period.kind}' AND \"level\" = '{level}' AND \"unit\" = '{unit}'"
        f" AND time = {period.start_ms}ms"))
    assert series, f"no {indicator} value for {period} {level} {unit}"
    return series[0].rows[0]


@pytest.mark.parametrize("devices_per_query", [1, 3, 1_000])  # one, two groups, or all at once
def test_three_of_ten_communes_with_an_active_station_is_30_percent(
        influx: InfluxClient, database: str, registry_url: str, make_service, devices_per_query: int) -> None:
    wards = _wards(registry_url)
    indicator = TEN_COMMUNES.model_copy(update={"formula": TEN_COMMUNES.formula.model_copy(
        update={"wards": wards})})
    _register(registry_url, [], [(f"aq-{i}", "air_quality", wards[i], None, 300) for i in range(4)])
    start = local_midnight_ms(DAY1)
    for i in range(3):  # aq-3 is installed but silent
        _readings(influx, database, f"aq-{i}", [start + 9 * HOUR_MS], written_at=start + HOUR_MS)
    service = make_service(Clock(start + 30 * HOUR_MS), Catalogue(definitions={}, indicators=[indicator]),
                           devices_per_query=devices_per_query)
    service.run_once()
    day = Period("day", DAY1)
    got = _value(influx, database, indicator.id, day)
    assert (got["value"], got["numerator"], got["denominator"]) == (30.0, 3, 10)
    assert _value(influx, database, indicator.id, day, "commune", str(wards[2]))["value"] == 100.0
    assert _value(influx, database, indicator.id, day, "commune", str(wards[3]))["value"] == 0.0
    assert _value(influx, database, indicator.id, Period.containing("month", DAY1))["value"] == 30.0


def test_platform_use_shares_with_registered_and_reference_denominators(
        influx: InfluxClient, database: str, registry_url: str, make_service) -> None:
    w = _wards(registry_url, 5)
    _register(registry_url,
              [("farm-1", OrgType.FARM, w[0]), ("farm-2", OrgType.FARM, w[1]),
               ("farm-3", OrgType.FARM, w[2]), ("farm-4", OrgType.FARM, w[3]),
               ("coop-1", OrgType.COOPERATIVE, w[4])],
              [("soil-1", "soil_probe", w[0], "farm-1", 600),
               ("soil-2", "soil_probe", w[1], "farm-2", 600)])  # soil-2 stays silent
    start = local_midnight_ms(DAY1)
    _readings(influx, database, "soil-1", [start + HOUR_MS], start + HOUR_MS, "soil_moisture=30.0")
    influx.write_lines(database, f"platform_use,organisation=coop-1 requests=3i {start + 2 * HOUR_MS}")
    service = make_service(Clock(start + 30 * HOUR_MS))
    service.run_once()
    day = Period("day", DAY1)
    using = _value(influx, database, "farms_coops_using_platform", day)
    assert (using["value"], using["numerator"], using["denominator"],
            using["denominator_source"]) == (40.0, 2, 5, "registered")  # farm-1 device, coop-1 API
    sensors = _value(influx, database, "farms_with_field_sensors", day)
    assert (sensors["value"], sensors["numerator"]) == (20.0, 1)
    by_type = _value(influx, database, "farms_coops_using_platform", day, "organisation_type", "farm")
    assert (by_type["numerator"], by_type["denominator"]) == (1, 4)

    # Official counts for both types of that year replace the registered denominators.
    with session_factory(make_engine(registry_url))() as session, session.begin():
        for org_type, count in ((OrgType.FARM, 20), (OrgType.COOPERATIVE, 5)):
            session.add(ReferenceCount(level="province", unit_code=75, org_type=org_type, year=2026,
                                       count=count, source="Cục Thống kê 2026"))
    service.backfill(DAY1, DAY1)
    using = _value(influx, database, "farms_coops_using_platform", day)
    assert (using["value"], using["denominator"], using["denominator_source"]) == (
        8.0, 25, "reference_counts")
    by_type = _value(influx, database, "farms_coops_using_platform", day, "organisation_type", "farm")
    assert (by_type["value"], by_type["denominator"]) == (5.0, 20)


def test_availability_and_completeness_with_a_gap(
        influx: InfluxClient, database: str, registry_url: str, make_service) -> None:
    w = _wards(registry_url, 1)
    _register(registry_url, [], [("soil-1", "soil_probe", w[0], None, 600)])
    start = local_midnight_ms(DAY1)
    # Every 10 minutes all day (144 intervals) but for a 2-hour gap from 06:00 (12 intervals);
    # and a second reading in one interval, which completeness counts and availability not.
    times = [start + m * MIN for m in range(0, 24 * 60, 10) if not 360 <= m < 480]
    times.append(start + 3 * MIN)
    _readings(influx, database, "soil-1", times, start + 25 * HOUR_MS, "soil_moisture=30.0")
    service = make_service(Clock(start + 26 * HOUR_MS))
    service.run_once()
    day = Period("day", DAY1)
    availability = _value(influx, database, "reporting_availability", day, "device", "soil-1")
    assert (availability["numerator"], availability["denominator"]) == (132, 144)
    assert availability["value"] == pytest.approx(100 * 132 / 144)
    completeness = _value(influx, database, "reporting_completeness", day, "commune", str(w[0]))
    assert completeness["value"] == pytest.approx(100 * 133 / 144)
    # The current day counts only what has elapsed: at 12:00 of day 2 with data until then.
    _readings(influx, database, "soil-1", [local_midnight_ms(DAY2) + m * MIN for m in range(0, 720, 10)],
              local_midnight_ms(DAY2) + 12 * HOUR_MS, "soil_moisture=30.0")
    service.clock = Clock(local_midnight_ms(DAY2) + 12 * HOUR_MS + 200_000)
    service.run_once()
    assert _value(influx, database, "reporting_availability", Period("day", DAY2), "device",
                  "soil-1")["value"] == pytest.approx(100 * 72 / (72 + 200_000 / 600_000), rel=1e-3)


def test_late_data_recomputes_the_affected_period_only(
        influx: InfluxClient, database: str, registry_url: str, make_service) -> None:
    w = _wards(registry_url, 1)
    _register(registry_url, [], [("aq-1", "air_quality", w[0], None, 3600)])
    d1, d2 = local_midnight_ms(DAY1), local_midnight_ms(DAY2)
    written = d2 + 20 * HOUR_MS
    _readings(influx, database, "aq-1", [d1 + h * HOUR_MS for h in range(12)], written)
    _readings(influx, database, "aq-1", [d2 + h * HOUR_MS for h in range(20)], written)
    service = make_service(Clock(written + 200_000))
    first = service.run_once()
    assert (first.days, first.hours) == (2, 32)
    day1, day2 = Period("day", DAY1), Period("day", DAY2)
    before1 = _value(influx, database, "reporting_completeness", day1, "device", "aq-1")
    before2 = _value(influx, database, "reporting_completeness", day2, "device", "aq-1")
    assert before1["numerator"] == 12

    # A gateway comes back with day 1's afternoon; nothing else arrives.
    late = written + 3_600_000
    _readings(influx, database, "aq-1", [d1 + h * HOUR_MS for h in range(12, 24)], late)
    service.clock = Clock(late + 200_000)
    second = service.run_once()
    assert (second.days, second.hours) == (1, 12)
    after1 = _value(influx, database, "reporting_completeness", day1, "device", "aq-1")
    after2 = _value(influx, database, "reporting_completeness", day2, "device", "aq-1")
    assert (after1["numerator"], after1["value"]) == (24, 100.0)
    assert after2 == before2  # not even recomputed: same computed_at
    month = _value(influx, database, "reporting_completeness", Period.containing("month", DAY1),
                   "device", "aq-1")
    assert month["numerator"] == 24 + 20

    assert service.run_once().hours == 0  # nothing new, nothing done


def test_the_shipped_catalogue_computes_without_data(
        influx: InfluxClient, database: str, registry_url: str, make_service) -> None:
    service = make_service(Clock(local_midnight_ms(DAY2)))
    summary = service.backfill(DAY1, DAY1)
    assert (summary.days, summary.periods) == (1, 4)
    assert len(load_catalogue().indicators) >= 15
    # Every province has its share of communes with a station: 0 of all of them.
    got = _value(influx, database, "communes_with_environmental_station", Period("day", DAY1))
    assert got["value"] == 0.0 and got["denominator"] > 0


def test_a_households_device_and_gateway_values_are_stored_in_the_personal_database(
        influx: InfluxClient, database: str, registry_url: str, make_service) -> None:
    """meter-1 is a household's, alone on gw-home; meter-2 is registered under the farm but
    its readings of the day are in the personal database (it was a household's then, as
    ingest judged them), so its value and its gateway's carry a household's readings too."""
    w = _wards(registry_url, 1)
    with session_factory(make_engine(registry_url))() as session, session.begin():
        reg.add_organisation(session, "home-1", OrgType.HOUSEHOLD_METER_POINT, Sector.ENERGY, ward=w[0],
                             at=PLACED)
        reg.add_organisation(session, "farm-1", OrgType.FARM, Sector.AGRICULTURE, ward=w[0], at=PLACED)
        for gateway in ("gw-home", "gw-farm", "gw-field"):
            reg.add_gateway(session, gateway, ward=w[0], at=PLACED)
        for device, profile, org, gateway in (
                ("meter-1", "electricity_meter", "home-1", "gw-home"),
                ("meter-2", "electricity_meter", "farm-1", "gw-farm"),
                ("soil-1", "soil_probe", "farm-1", "gw-farm"),
                ("soil-2", "soil_probe", "farm-1", "gw-field")):
            reg.add_device(session, device, profile, Sector.AGRICULTURE, ward=w[0], at=PLACED,
                           interval_s=3600, organisation=org, gateway=gateway)
    start = local_midnight_ms(DAY1)
    service = make_service(Clock(start + 30 * HOUR_MS))
    hours = [start + h * HOUR_MS for h in range(12)]
    influx.write_lines(personal_database(database), "\n".join(
        f'telemetry,device={device} active_energy={h}.0,quality="good" {ts}'
        for device in ("meter-1", "meter-2") for h, ts in enumerate(hours)))
    for device in ("soil-1", "soil-2"):
        _readings(influx, database, device, hours, start + 25 * HOUR_MS, "soil_moisture=30.0")
    service.backfill(DAY1, DAY1)

    def units(db: str, level: str) -> set[str]:
        return {s.tags["unit"] for s in influx.query(db, (
            f'SELECT last("value") FROM "{ROLLUP_RP}"."{INDICATORS}" WHERE "level" = \'{level}\''
            ' GROUP BY "unit"'))}
    personal = personal_database(database)
    assert (units(database, "device"), units(personal, "device")) == ({"soil-1", "soil-2"},
                                                                      {"meter-1", "meter-2"})
    assert (units(database, "gateway"), units(personal, "gateway")) == ({"gw-field"}, {"gw-home", "gw-farm"})
    assert units(personal, "commune") == set() and str(w[0]) in units(database, "commune")

    def read(level: str) -> dict[str, float]:
        return {v.unit: v.value for v in read_values(
            influx, database, "reporting_completeness", province=75, period="day", level=level,
            start_ms=start, end_ms=start + 1)}
    assert read("device") == {"meter-1": 50.0, "meter-2": 50.0, "soil-1": 50.0, "soil-2": 50.0}
    # A copy left in the main database by an older release counts less than the one computed last.
    influx.write_lines(database, (
        f'indicators,indicator=reporting_completeness,level=device,period=day,province=75,unit=meter-1'
        f' value=99.0,numerator=1.0,label="2026-03-10",computed_at=1i {start}'), retention_policy=ROLLUP_RP)
    assert read("device")["meter-1"] == 50.0
