"""A province's token importing evidence it may not: aggregates (national figures, the
operators' alone) and declarations of another province's organisation. Each is refused
with 403 naming the line, and nothing of the file is stored."""

from __future__ import annotations

import pytest
from iotgw.registry import OrgType, Sector, make_engine, session_factory

from tests import registry_setup as reg
from tests.api import conftest as api
from tests.api.conftest import PLACED, PROVINCE, Stack
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]
stack = api.stack  # the API's fixture: a province's registry behind the real app

ELSEWHERE = 75  # Đồng Nai


def _post(stack: Stack, who: str, kind: str, **body: object):
    return stack.client.post(f"/v1/registry/{kind}", headers={"Authorization": f"Bearer {stack.tokens[who]}"},
                             **body)


def _stored(stack: Stack, kind: str) -> list[dict]:
    return stack.get(f"/v1/registry/{kind}", who="operator").json()["rows"]


def test_a_province_token_importing_aggregates(stack: Stack) -> None:
    rows = ("measure,level,unit_code,year,numerator,denominator,source\n"
            f"e_invoice,province,{PROVINCE},2026,400,400,Tự khai của tỉnh\n")
    answers = [_post(stack, "dong_thap", "aggregates", content=rows),
               _post(stack, "dong_thap", "aggregates", json={
                   "measure": "e_invoice", "level": "ward", "unit_code": stack.wards[0], "year": 2026,
                   "numerator": 9, "denominator": 9, "source": "Tự khai của tỉnh"})]
    refused = all(r.status_code == 403 and f"line {line}: aggregates are imported by operators"
                  in r.json()["detail"] for r, line in zip(answers, (2, 1), strict=True))
    ledger.refused("province token imports aggregates", ok=refused and _stored(stack, "aggregates") == [],
                   verdict="403 naming the line (CSV and JSON); nothing stored")


def test_a_province_token_declaring_for_another_province_s_organisation(stack: Stack) -> None:
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        [ward] = reg.wards_of(s, ELSEWHERE, 1, current=True)
        reg.add_organisation(s, "sme-dn", OrgType.SME, Sector.INDUSTRY, ward=ward, at=PLACED)
    declared = {"subject": "digital_platform", "declared_on": "2026-02-01", "holds": True,
                "source": "Tự khai"}
    answer = _post(stack, "dong_thap", "declarations", json=[
        {**declared, "organisation_id": "sme-1"}, {**declared, "organisation_id": "sme-dn"}])
    detail = answer.json()["detail"]
    ledger.refused("province token declares for another province's organisation",
                   ok=answer.status_code == 403 and "line 2: organisation_id: sme-dn is in province"
                   f" {ELSEWHERE}, not {PROVINCE}" in detail and _stored(stack, "declarations") == [],
                   verdict="403 naming line and field; its own row not stored either")
