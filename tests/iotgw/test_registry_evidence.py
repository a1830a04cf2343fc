"""``iotgw registry import|export declarations|aggregates`` as a user runs them: what an
export writes, a fresh registry imports back to the same export."""

from __future__ import annotations

from pathlib import Path

from tests.iotgw.test_cli import iotgw

ORGANISATIONS = ("id,name,type,sector,ward_code,since,open_data\n"
                 "factory-1,Nhà máy 1,factory,industry,73,2024-12-31,true\n"
                 "farm-1,Trại 1,farm,agriculture,70,2025-01-01,\n")
FILES = {
    "organisations": ORGANISATIONS,
    "declarations": "organisation_id,subject,declared_on,holds,level,source\n"
                    "factory-1,mes,2025-06-01,true,3,Khảo sát Sở KH&CN 2025\n"
                    "farm-1,digital_platform_production,2026-01-15,false,,Tự khai\n",
    "aggregates": "measure,level,unit_code,year,numerator,denominator,source\n"
                  "e_invoice,province,1,2025,120,400,Cục Thuế\n"
                  "ocop_traceable,ward,70,2025,3,9,Cổng truy xuất\n",
}


def _registry(tmp_path: Path, name: str) -> str:
    url = f"sqlite:///{tmp_path / name}"
    init = iotgw("registry", "init", "--url", url)
    assert init.returncode == 0, init.stderr
    return url


def _export(url: str, kind: str, out: Path) -> str:
    result = iotgw("registry", "export", kind, str(out), "--url", url)
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


def test_declarations_and_aggregates_export_and_import_back(tmp_path: Path) -> None:
    first = _registry(tmp_path, "first.sqlite")
    for kind, text in FILES.items():
        given = tmp_path / f"{kind}.csv"
        given.write_text(text, encoding="utf-8")
        result = iotgw("registry", "import", kind, str(given), "--url", first)
        assert result.returncode == 0, result.stderr
        assert f"imported 2 {kind}" in result.stderr
    exported = {kind: _export(first, kind, tmp_path / f"{kind}-out.csv") for kind in FILES}
    assert exported == FILES  # the columns and cells as given, booleans as true/false

    fresh = _registry(tmp_path, "fresh.sqlite")
    for kind in FILES:
        result = iotgw("registry", "import", kind, str(tmp_path / f"{kind}-out.csv"), "--url", fresh)
        assert result.returncode == 0, result.stderr
    assert {kind: _export(fresh, kind, tmp_path / f"{kind}-again.csv") for kind in FILES} == exported


def test_a_declaration_of_an_unknown_organisation_imports_nothing(tmp_path: Path) -> None:
    url = _registry(tmp_path, "registry.sqlite")
    given = tmp_path / "declarations.csv"
    given.write_text("organisation_id,subject,declared_on,holds,source\n"
                     "nobody,mes,2025-06-01,true,Khảo sát\n", encoding="utf-8")
    refused = iotgw("registry", "import", "declarations", str(given), "--url", url)
    assert refused.returncode == 2
    assert f"{given}: line 2: organisation_id: no organisation 'nobody'" in refused.stderr
    assert _export(url, "declarations", tmp_path / "out.csv") == (
        "organisation_id,subject,declared_on,holds,level,source\n")
