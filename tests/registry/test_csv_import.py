from __future__ import annotations

import datetime as dt
import io

import pytest
from iotgw.registry import (
    Device,
    Gateway,
    ImportFailed,
    Organisation,
    ReferenceCount,
    SubjectKind,
    Ward,
    placements_at,
    seed_admin_units,
)
from iotgw.registry.csv_import import import_csv, import_rows
from sqlalchemy import func, select
from sqlalchemy.orm import Session


@pytest.fixture
def wards(session: Session) -> list[int]:
    seed_admin_units(session)
    return list(session.scalars(select(Ward.code).order_by(Ward.code).limit(2)))


def _lines(text: str) -> io.StringIO:
    return io.StringIO(text.lstrip())


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_good_file_imports_with_placements(session: Session, wards: list[int]) -> None:
    w1, _ = wards
    import_csv(session, "organisations", _lines(f"""
id,name,type,sector,ward_code,since
farm-1,"Hợp tác xã Sầu riêng, Long Khánh",agricultural_cooperative,agriculture,{w1},2025-03-01
"""), source="orgs.csv")
    import_csv(session, "gateways", _lines(f"""
id,ward_code,organisation_id,installed_on,latitude,longitude
gw-1,{w1},farm-1,2025-04-01,10.93,107.24
"""), source="gw.csv")
    assert import_csv(session, "devices", _lines(f"""
id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code,organisation_id
soil-1,gw-1,soil_probe,agriculture,300,2025-04-02,{w1},farm-1
soil-2,gw-1,soil_probe,agriculture,300,2025-04-02,{w1},
"""), source="dev.csv") == 2
    assert session.get(Organisation, "farm-1").name == "Hợp tác xã Sầu riêng, Long Khánh"
    # 2025-04-02 00:00 in Vietnam is 2025-04-01 17:00 UTC.
    before = dt.datetime(2025, 4, 1, 16, 59, tzinfo=dt.UTC)
    after = dt.datetime(2025, 4, 1, 17, 0, tzinfo=dt.UTC)
    assert placements_at(session, SubjectKind.DEVICE, before) == []
    placed = placements_at(session, SubjectKind.DEVICE, after)
    assert [(p.subject_id, p.gateway_id, p.organisation_id) for p in placed] == [
        ("soil-1", "gw-1", "farm-1"), ("soil-2", "gw-1", None)]


def test_bad_rows_are_all_named_and_nothing_is_imported(session: Session, wards: list[int]) -> None:
    w1, _ = wards
    text = f"""
id,name,type,sector,ward_code,since
farm-1,Trang trại 1,farm,agriculture,{w1},2025-01-01
farm-2,Trang trại 2,castle,agriculture,{w1},2025-01-01
farm-3,Trang trại 3,farm,agriculture,999999,2025-01-01
farm-1,Trang trại 1 lần nữa,farm,agriculture,{w1},2025-01-01
farm 5,Trang trại 5,farm,agriculture,{w1},2025-01-01
farm-6,Trang trại 6,farm,agriculture,{w1},01/02/2025
farm-7,,farm,agriculture,{w1},2025-01-01
farm-8,Trang trại 8,farm,agriculture,{w1},2025-01-01
"""
    with pytest.raises(ImportFailed) as caught:
        import_csv(session, "organisations", _lines(text), source="orgs.csv")
    assert [(e.line, e.reason.split(":")[0]) for e in caught.value.errors] == [
        (3, "type"), (4, "ward_code"), (5, "id"), (6, "id"), (7, "since"), (8, "name")]
    assert "orgs.csv: line 4: ward_code: no current ward 999999" in str(caught.value)
    assert "orgs.csv: line 5: id: 'farm-1' already exists" in str(caught.value)
    assert _count(session, Organisation) == 0


def test_a_wrong_header_is_refused_before_any_row(session: Session, wards: list[int]) -> None:
    with pytest.raises(ImportFailed, match="line 1: columns must include"):
        import_csv(session, "gateways", _lines("id,ward\ngw-1,1\n"), source="gw.csv")


def test_reference_counts(session: Session, wards: list[int]) -> None:
    w1, _ = wards
    province = session.get(Ward, w1).province_code
    import_csv(session, "reference_counts", _lines(f"""
level,unit_code,org_type,year,count,source
province,{province},farm,2024,1520,Cục Thống kê 2024
ward,{w1},farm,2024,83,Cục Thống kê 2024
"""), source="ref.csv")
    assert _count(session, ReferenceCount) == 2
    with pytest.raises(ImportFailed, match="duplicate reference count"):
        import_csv(session, "reference_counts", _lines(f"""
level,unit_code,org_type,year,count,source
ward,{w1},farm,2024,84,again
"""), source="ref.csv")


def test_ten_thousand_devices_import_with_progress(session: Session, wards: list[int]) -> None:
    w1, w2 = wards
    import_csv(session, "gateways", _lines(
        "id,ward_code,installed_on\n" + "".join(f"gw-{g},{w1},2025-01-01\n" for g in range(100))),
        source="gw.csv")
    rows = "".join(f"d-{n},gw-{n % 100},electricity_meter,energy,900,2025-02-01,{(w1, w2)[n % 2]}\n"
                   for n in range(10_000))
    ticks: list[int] = []
    imported = import_csv(session, "devices", _lines(
        "id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code\n" + rows),
        source="dev.csv", progress=ticks.append)
    session.commit()
    assert imported == 10_000 and sum(ticks) == 10_000
    assert _count(session, Device) == 10_000


def test_decommissioning_ends_the_placement(session: Session, wards: list[int]) -> None:
    w1, _ = wards
    import_csv(session, "gateways", _lines(f"""
id,ward_code,installed_on,decommissioned_on
gw-old,{w1},2024-01-01,2025-06-01
"""), source="gw.csv")
    in_service = dt.datetime(2025, 5, 31, 12, tzinfo=dt.UTC)
    after = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
    assert [p.subject_id for p in placements_at(session, SubjectKind.GATEWAY, in_service)] == ["gw-old"]
    assert placements_at(session, SubjectKind.GATEWAY, after) == []
    with pytest.raises(ImportFailed, match=r"line 2: .*decommissioned_on must be after installed_on"):
        import_csv(session, "gateways", _lines(f"""
id,ward_code,installed_on,decommissioned_on
gw-new,{w1},2025-01-01,2024-01-01
"""), source="gw.csv")


@pytest.mark.parametrize("hostile", ["iotgw-admin:", "ingest:", "gw/+#", "gw%2F", "gw\t1"])
def test_ids_with_a_meaning_elsewhere_are_refused_in_every_field(
    session: Session, wards: list[int], hostile: str,
) -> None:
    """An id goes unescaped into broker files, topics and URLs: each id field of each kind
    refuses one with such a character, naming the line, the field and the rule."""
    w1, _ = wards
    import_csv(session, "organisations", _lines(f"""
id,name,type,sector,ward_code,since
farm-1,Trang trại 1,farm,agriculture,{w1},2025-01-01
"""), source="orgs.csv")
    import_csv(session, "gateways", _lines(f"""
id,ward_code,installed_on
gw-1,{w1},2025-01-01
"""), source="gw.csv")
    cases = [
        ("organisations", "id,name,type,sector,ward_code,since",
         f'"{hostile}",Trại,farm,agriculture,{w1},2025-01-01', "id"),
        ("gateways", "id,ward_code,installed_on", f'"{hostile}",{w1},2025-01-01', "id"),
        ("gateways", "id,ward_code,organisation_id,installed_on", f'gw-2,{w1},"{hostile}",2025-01-01',
         "organisation_id"),
        ("devices", "id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code",
         f'"{hostile}",gw-1,soil_probe,agriculture,300,2025-01-01,{w1}', "id"),
        ("devices", "id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code",
         f'soil-9,"{hostile}",soil_probe,agriculture,300,2025-01-01,{w1}', "gateway_id"),
    ]
    for kind, header, row, field in cases:
        with pytest.raises(ImportFailed) as caught:
            import_csv(session, kind, io.StringIO(f"{header}\n{row}\n"), source=f"{kind}.csv")
        assert f"{kind}.csv: line 2: {field}: Value error, invalid {field} {hostile!r}: 1-64 characters" \
               " of letters, digits, '_', '.', '-', starting with a letter or digit" in str(caught.value)
    assert _count(session, Organisation) == 1 and _count(session, Device) == 0


def test_json_rows_are_held_to_the_same_ids(session: Session, wards: list[int]) -> None:
    w1, _ = wards
    rows = [(1, {"id": "gw-ok", "ward_code": w1, "installed_on": "2025-01-01"}),
            (2, {"id": "iotgw-admin:", "ward_code": w1, "installed_on": "2025-01-01"})]
    with pytest.raises(ImportFailed) as caught:
        import_rows(session, "gateways", rows, source="gateways.json")
    assert [(e.line, e.reason.split(":")[0]) for e in caught.value.errors] == [(2, "id")]
    assert session.get(Gateway, "gw-ok") is None  # all or nothing


def test_a_gateway_id_in_the_services_namespace_is_refused_naming_the_line(
        session: Session, wards: list[int]) -> None:
    rows = f"id,ward_code,installed_on\nok-gw,{wards[0]},2025-01-01\niotgw-ingest-1,{wards[0]},2025-01-01\n"
    with pytest.raises(ImportFailed) as caught:
        import_csv(session, "gateways", _lines(rows), source="gw.csv")
    [error] = caught.value.errors
    assert (error.line, error.reason.split(":")[0]) == (3, "id")
    assert "'iotgw-' starts the central services' client ids" in error.reason
    assert _count(session, Gateway) == 0
