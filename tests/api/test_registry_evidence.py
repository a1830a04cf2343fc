"""``/v1/registry/declarations`` and ``/v1/registry/aggregates``: who may import them, which
rows a province reads, and an export that a fresh registry imports back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from iotgw.api import ApiConfig, create_app
from iotgw.devices.links import RegistryLink
from iotgw.registry import Ward, make_engine, session_factory
from sqlalchemy import select

from tests.api.conftest import PROVINCE, Stack, register_province

pytestmark = pytest.mark.integration

DECLARATIONS = ("organisation_id,subject,declared_on,holds,level,source\n"
                "sme-1,e_invoice,2026-01-05,true,,Cục Thuế\n"
                "farm-1,digital_platform_production,2025-11-20,true,2,Khảo sát Sở KH&CN 2025\n")
AGGREGATES = ("measure,level,unit_code,year,numerator,denominator,source\n"
              f"e_invoice,province,{PROVINCE},2026,120,400,Cục Thuế\n"
              "ocop_traceable,former_province,75,2025,7,20,Cổng truy xuất\n")


def _post(client: TestClient, token: str, kind: str, **body: object):
    return client.post(f"/v1/registry/{kind}", headers={"Authorization": f"Bearer {token}"}, **body)


def _rows(client: TestClient, token: str, kind: str) -> list[dict]:
    response = client.get(f"/v1/registry/{kind}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_a_province_declares_for_its_organisations_and_reads_its_own_rows(stack: Stack) -> None:
    """What a province may not import is in tests/faults/test_evidence_scope.py."""
    own, operator = stack.tokens["dong_thap"], stack.tokens["operator"]
    assert _post(stack.client, own, "declarations", content=DECLARATIONS).json() == {
        "imported": 2, "kind": "declarations"}
    with session_factory(make_engine(stack.registry_url))() as s:
        ward = s.scalar(select(Ward.code).where(Ward.province_code == 75, Ward.retired_on.is_(None)).limit(1))
    assert _post(stack.client, operator, "organisations", json={
        "id": "farm-dn", "name": "Trại Đồng Nai", "type": "farm", "sector": "agriculture",
        "ward_code": ward, "since": "2026-01-01"}).status_code == 200
    assert _post(stack.client, operator, "declarations", json={
        "organisation_id": "farm-dn", "subject": "mes", "declared_on": "2026-02-01", "holds": False,
        "source": "Tự khai"}).json() == {"imported": 1, "kind": "declarations"}
    assert _post(stack.client, operator, "aggregates", content=AGGREGATES).json() == {
        "imported": 2, "kind": "aggregates"}

    # A province reads its organisations' declarations, and the aggregates of its units (the
    # former province 75's figures are Đồng Nai's, whose wards it now holds).
    assert {r["organisation_id"] for r in _rows(stack.client, own, "declarations")} == {"sme-1", "farm-1"}
    dong_nai = stack.tokens["dong_nai"]
    assert [r["organisation_id"] for r in _rows(stack.client, dong_nai, "declarations")] == ["farm-dn"]
    assert [r["measure"] for r in _rows(stack.client, own, "aggregates")] == ["e_invoice"]
    assert [r["measure"] for r in _rows(stack.client, dong_nai, "aggregates")] == ["ocop_traceable"]
    assert stack.get("/v1/registry/aggregates").status_code == 403  # ministries read aggregates only


def test_an_export_imports_back_into_a_fresh_registry(stack: Stack, tmp_path: Path) -> None:
    operator = stack.tokens["operator"]
    assert _post(stack.client, operator, "declarations", content=DECLARATIONS).status_code == 200
    assert _post(stack.client, operator, "aggregates", content=AGGREGATES).status_code == 200
    exported = {kind: _rows(stack.client, operator, kind) for kind in ("declarations", "aggregates")}
    assert exported["declarations"][0] == {
        "organisation_id": "farm-1", "subject": "digital_platform_production", "declared_on": "2025-11-20",
        "holds": True, "level": 2, "source": "Khảo sát Sở KH&CN 2025"}
    assert exported["aggregates"][0]["numerator"] == 120

    url, _, tokens = register_province(tmp_path / "fresh.sqlite")  # the same organisations, nothing declared
    cfg = ApiConfig(influx=stack.cfg.influx, registry=RegistryLink(url=url))
    with TestClient(create_app(cfg)) as fresh:
        for kind, rows in exported.items():
            assert _rows(fresh, tokens["operator"], kind) == []
            imported = _post(fresh, tokens["operator"], kind, json=rows)
            assert imported.json() == {"imported": len(rows), "kind": kind}
            assert _rows(fresh, tokens["operator"], kind) == rows
