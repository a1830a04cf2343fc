"""Plans scored on the area they were written for, evidence counted by kind, and targets
judged for their own year: the ward <-> former-province mapping, then a real rollup on a
real influxd and a SQLite registry."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from iotgw.api import ApiConfig, create_app
from iotgw.api.auth import create_token
from iotgw.api.views import _progress
from iotgw.devices.links import RegistryLink
from iotgw.registry import (
    AggregateCount,
    ApiRole,
    ImportFailed,
    OrgType,
    Sector,
    make_engine,
    session_factory,
    wards_of_former_province,
)
from iotgw.registry.csv_import import import_csv
from iotgw.registry.former_provinces import former_provinces, library_data
from iotgw.rollup.catalogue import load_catalogue
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.periods import Period, local_midnight_ms
from iotgw.rollup.service import RollupService
from iotgw.rollup.store import StoredValue, read_values
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig
from iotgw.tsdb.schema import HOUR_MS, RAW_RP
from vietnam_provinces import Ward as VnWard

from iotgw.processes import Influxd
from tests import registry_setup as reg

HCMC, BRVT, BINH_DUONG, DONG_NAI, BINH_PHUOC = 79, 77, 74, 75, 70
DAY = dt.date(2025, 3, 10)
PLACED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _current() -> dict[int, int]:
    return {w.code.value: w.province_code.value for w in VnWard.iter_all()}


def test_hcmc_s_168_wards_come_from_three_former_provinces() -> None:
    current = _current()
    hcmc = {w for w, p in current.items() if p == HCMC}
    brvt = wards_of_former_province(BRVT, province=HCMC)
    binh_duong = wards_of_former_province(BINH_DUONG, province=HCMC)
    assert len(hcmc) == 168 and (len(brvt), len(binh_duong)) == (30, 36)
    assert brvt | binh_duong | wards_of_former_province(HCMC, province=HCMC) == hcmc
    assert not brvt & binh_duong  # no 2025 ward of the city mixes the two
    names = {w.code.value: w.name for w in VnWard.iter_all()}
    assert "Phường Vũng Tàu" in {names[w] for w in brvt}
    assert "Phường Thủ Dầu Một" in {names[w] for w in binh_duong}
    assert "Phường Thủ Dầu Một" not in {names[w] for w in brvt}
    # Đồng Nai of 2025 (plan 001) is 55 of today's 95 wards; Bình Phước made the others.
    dong_nai = wards_of_former_province(DONG_NAI, province=DONG_NAI)
    assert len(dong_nai) == 55 and len(wards_of_former_province(BINH_PHUOC, province=DONG_NAI)) == 40


def test_every_2025_ward_is_mapped_with_the_registry_s_codes() -> None:
    """The registry's codes are vietnam-provinces'; vietnamadminunits' wardCode mostly agrees
    and, where it does not, the ward is matched by name in its province."""
    mapping = former_provinces().of_ward
    current = _current()
    assert set(mapping) == set(current)
    with sqlite3.connect(library_data() / "dataset.db") as db:
        theirs = {int(code) for (code,) in db.execute("SELECT wardCode FROM admin_units")}
    assert len(theirs & set(current)) > 3100
    # A ward formed from wards of two former provinces is in both areas.
    mixed = {w: p for w, p in mapping.items() if len(p) > 1}
    assert mixed and all(w in wards_of_former_province(min(p)) and w in wards_of_former_province(max(p))
                         for w, p in mixed.items())


# -- the rollup -------------------------------------------------------------------------


@pytest.fixture
def registry_url(tmp_path: Path) -> str:
    return reg.seeded_registry(tmp_path / "registry.sqlite")


@pytest.fixture
def service(influxd: Influxd, influx: InfluxClient, database: str,
            registry_url: str) -> Iterator[RollupService]:
    influx.create_retention_policy(database, RAW_RP, duration="INF", default=True)
    start = local_midnight_ms(DAY)
    cfg = RollupConfig(influx=InfluxConfig(url=influxd.url, database=database),
                       registry=RegistryLink(url=registry_url))
    rollup = RollupService(cfg, clock=lambda: (start + 30 * HOUR_MS) / 1000)
    rollup.prepare()
    yield rollup
    rollup.influx.close()


def _register(url: str, orgs: list[tuple[str, OrgType, int]],
              devices: list[tuple[str, str, int, str]]) -> None:
    with session_factory(make_engine(url))() as session, session.begin():
        for org_id, org_type, ward in orgs:
            reg.add_organisation(session, org_id, org_type, Sector.INDUSTRY, ward=ward, at=PLACED)
        for device_id, profile, ward, org_id in devices:
            reg.add_device(session, device_id, profile, Sector.ENERGY, ward=ward, at=PLACED, interval_s=900,
                           organisation=org_id)


def _reading(influx: InfluxClient, db: str, device: str) -> None:
    at = local_midnight_ms(DAY) + 9 * HOUR_MS
    influx.write_lines(db, f'telemetry,device={device},gateway=gw-1 active_power=1.5,quality="good" {at}\n'
                           f"touched_hours written_at={at}i {at - at % HOUR_MS}")


def _values(influx: InfluxClient, db: str, indicator: str, province: int,
            level: str) -> dict[str, StoredValue]:
    day = Period("day", DAY)
    return {v.unit: v for v in read_values(influx, db, indicator, province=province, period="day",
                                           level=level, start_ms=day.start_ms, end_ms=day.end_ms)}


@pytest.mark.integration
def test_a_device_in_former_ba_ria_vung_tau_counts_for_plan_004_and_one_in_binh_duong_does_not(
        influx: InfluxClient, database: str, registry_url: str, service: RollupService) -> None:
    brvt = sorted(wards_of_former_province(BRVT, province=HCMC))
    binh_duong = sorted(wards_of_former_province(BINH_DUONG, province=HCMC))
    _register(registry_url,
              [("sme-vt-1", OrgType.SME, brvt[0]), ("sme-vt-2", OrgType.SME, brvt[1]),
               ("sme-vt-3", OrgType.SME, brvt[2]), ("sme-bd-1", OrgType.SME, binh_duong[0]),
               ("factory-vt", OrgType.FACTORY, brvt[0])],
              [("meter-vt", "electricity_meter", brvt[0], "sme-vt-1"),
               ("meter-bd", "electricity_meter", binh_duong[0], "sme-bd-1"),
               ("meter-factory", "electricity_meter", brvt[0], "factory-vt")])
    for device in ("meter-vt", "meter-bd", "meter-factory"):
        _reading(influx, database, device)
    with session_factory(make_engine(registry_url))() as session, session.begin():
        imported = import_csv(session, "declarations", [
            "organisation_id,subject,declared_on,holds,level,source",
            "sme-vt-2,digital_platform,2025-02-01,true,3,Đánh giá 1970/QĐ-BTTTT 2025",
            "sme-vt-3,digital_platform,2024-01-05,true,,Khảo sát 2023",  # too old by March 2025
        ], source="declarations.csv")
        session.add(AggregateCount(measure="ocop_products_ecommerce", level="former_province", unit_code=BRVT,
                                   year=2025, numerator=45, denominator=50, source="Sở Công Thương 2025"))
    assert imported == 2
    service.backfill(DAY, DAY)

    area = _values(influx, database, "smes_using_platform", HCMC, "plan_area")["004"]
    assert (area.numerator, area.denominator) == (2, 3)  # vt-1 by its meter, vt-2 declared; bd-1 is not in it
    assert area.evidence == {"declaration": 1.0, "telemetry": 1.0, "platform_use": 0.0}
    city = _values(influx, database, "smes_using_platform", HCMC, "province")[str(HCMC)]
    assert (city.numerator, city.denominator) == (3, 4)
    # A meter does not make a factory a user of MES.
    mes = _values(influx, database, "factories_using_mes", HCMC, "province")[str(HCMC)]
    assert (mes.numerator, mes.denominator, mes.evidence) == (0, 1, {"declaration": 0.0})
    ocop = _values(influx, database, "ocop_products_on_ecommerce", HCMC, "plan_area")["004"]
    assert (ocop.value, ocop.evidence, ocop.denominator_source) == (
        90.0, {"aggregate": 45.0}, "aggregate_counts")

    # Plan 004's 2025 target is judged on the declared part only, in its own year.
    target = load_catalogue().get("smes_using_platform").targets[1]
    progress = _progress(target, area, Period("day", DAY), {})
    assert progress.measured == pytest.approx(100 / 3) and progress.met is False
    assert progress.gap == pytest.approx(50 - 100 / 3)

    # The API says which area each answer is computed over.
    with session_factory(make_engine(registry_url))() as session, session.begin():
        token = create_token(session, "ministry", ApiRole.MINISTRY)
    cfg = ApiConfig(influx=InfluxConfig(url=service.cfg.influx.url, database=database),
                    registry=RegistryLink(url=registry_url))
    with TestClient(create_app(cfg)) as client:
        def get(level: str) -> dict:
            response = client.get("/v1/indicators/smes_using_platform/values", headers={
                "Authorization": f"Bearer {token}"}, params={
                "province": HCMC, "period": "day", "level": level, "from": str(DAY), "to": str(DAY)})
            assert response.status_code == 200, response.text
            return response.json()
        answer = get("plan_area")
        assert [(a["unit"], a["former_province"], a["wards"]) for a in answer["areas"]] == [("004", BRVT, 30)]
        assert "Bà Rịa - Vũng Tàu" in answer["areas"][0]["name"]
        [value] = answer["values"]
        assert (value["unit"], value["numerator"], value["target"]["plan"], value["target"]["line"]) == (
            "004", 2, "004", 103)
        city = get("province")
        assert city["areas"][0]["level"] == "province" and city["values"][0]["target"] is None


def test_a_declaration_of_an_unknown_organisation_imports_nothing(registry_url: str) -> None:
    with session_factory(make_engine(registry_url))() as session, pytest.raises(ImportFailed) as err:
        import_csv(session, "declarations", ["organisation_id,subject,declared_on,holds,source",
                                             "nobody,mes,2025-01-01,true,survey"], source="d.csv")
    assert "line 2: organisation_id: no organisation 'nobody'" in str(err.value)


def _stored(value: float, declared: float, label: str = "2027") -> StoredValue:
    return StoredValue("smes_using_platform", "004", label, value, value, 100.0, "registered",
                       {"declaration": declared, "telemetry": value - declared})


def test_before_the_target_s_year_met_is_null_and_progress_is_on_the_straight_path() -> None:
    later = load_catalogue().get("smes_using_platform").targets[2]  # > 70 by 2030, baseline 2021
    year = Period("year", dt.date(2025, 1, 1))
    # Baseline 10 % at the end of 2021, 70 % at the end of 2030: 40 % at the end of 2025.
    progress = _progress(later, _stored(60, 45, "2025"), year, {("004", 2021): 10.0})
    assert progress.met is None and progress.measured == 45.0
    assert progress.expected_on_path == pytest.approx(10 + 60 * 4 / 9)
    assert progress.on_path is True
    behind = _progress(later, _stored(60, 20, "2025"), year, {("004", 2021): 10.0})
    assert behind.on_path is False and behind.met is None
    assert _progress(later, _stored(60, 20, "2025"), year, {}).expected_on_path is None
    final = _progress(later, _stored(80, 71, "2030"), Period("year", dt.date(2030, 1, 1)), {})
    assert final.met is True
