"""Reaching past a token's scope (issue 20), through the real app on a real registry and
InfluxDB: an organisation's token asking for another's device, a province's import naming
another province's gateway or household in its own ward, a province's token creating or
reading in another province. Each is refused, says why, and changes nothing."""

from __future__ import annotations

import pytest
from iotgw.api.auth import create_token
from iotgw.registry import ApiRole, OrgType, Sector, make_engine, session_factory

from tests import registry_setup as reg
from tests.api import conftest as api
from tests.api.conftest import DAY, PLACED, PROVINCE, Stack
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]
stack = api.stack  # the API's fixture: a province's registry behind the real app

ELSEWHERE = 75  # Đồng Nai: the dong_nai token's province
WINDOW = {"from": f"{DAY}T00:00:00+07:00", "to": f"{DAY}T23:59:00+07:00", "resolution": "raw"}


def _elsewhere(stack: Stack) -> int:
    """A gateway and a household of province 75, placed there; returns their ward."""
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        [ward] = reg.wards_of(s, ELSEWHERE, 1, current=True)
        reg.add_gateway(s, "gw-dn-1", ward=ward, at=PLACED)
        reg.add_organisation(s, "home-dn", OrgType.HOUSEHOLD_METER_POINT, Sector.ENERGY, ward=ward, at=PLACED)
    return ward


def _registry_ids(stack: Stack, kind: str) -> set[str]:
    return {row["id"] for row in stack.get(f"/v1/registry/{kind}", who="operator").json()["rows"]}


def test_an_organisation_token_reading_another_s_device(stack: Stack) -> None:
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        stack.tokens["farm"] = create_token(s, "farm", ApiRole.ORGANISATION, organisation="farm-1")
    answers = {device: stack.get(f"/v1/devices/{device}/readings", who="farm", **WINDOW)
               for device in ("soil-2", "meter-1", "aq-1")}
    refused = all(r.status_code == 403 and "farm-1" in r.json()["detail"] for r in answers.values())
    own = stack.get("/v1/devices/soil-1/readings", who="farm", **WINDOW).status_code == 200
    ledger.refused("organisation token reads another's device", ok=refused and own,
                   verdict="403 for another farm's, a household's and no one's device; its own 200")


@pytest.mark.parametrize(("field", "reference"), [("gateway_id", "gw-dn-1"), ("organisation_id", "home-dn")])
def test_a_province_import_naming_another_province_s_subject(stack: Stack, field: str,
                                                             reference: str) -> None:
    _elsewhere(stack)
    meter = {"gateway_id": "gw-dt-1", "profile": "electricity_meter", "sector": "energy",
             "expected_interval_s": 60, "installed_on": "2026-02-01", "ward_code": stack.wards[0]}
    rows = [{"id": "meter-ok", **meter}, {"id": "meter-x", **meter, field: reference}]
    headers = {"Authorization": f"Bearer {stack.tokens['dong_thap']}"}
    as_json = stack.client.post("/v1/registry/devices", headers=headers, json=rows)
    columns = list(rows[1])
    as_csv = stack.client.post("/v1/registry/devices", headers=headers, content="\n".join(
        [",".join(columns), *(",".join(str(row.get(c, "")) for c in columns) for row in rows)]) + "\n")
    want = f"line {{}}: {field}: {reference} is in province {ELSEWHERE}, not {PROVINCE}"
    named = (as_json.status_code == 403 and f"devices.json: {want.format(2)}" in as_json.json()["detail"]
             and as_csv.status_code == 403 and f"devices.csv: {want.format(3)}" in as_csv.json()["detail"])
    nothing = not {"meter-ok", "meter-x"} & _registry_ids(stack, "devices")
    ledger.refused(f"province import naming another province's {field.removesuffix('_id')}",
                   ok=named and nothing, verdict="403 naming line and field (JSON and CSV); nothing stored")


def test_a_province_token_creating_or_reading_outside_its_province(stack: Stack) -> None:
    ward = _elsewhere(stack)
    headers = {"Authorization": f"Bearer {stack.tokens['dong_thap']}"}
    created = stack.client.post("/v1/registry/gateways", headers=headers,
                                json={"id": "gw-x", "ward_code": ward, "installed_on": "2026-02-01"})
    moved = stack.client.post("/v1/registry/moves", headers=headers, json={
        "kind": "device", "id": "soil-1", "at": "2026-03-01T00:00:00+07:00", "gateway_id": "gw-dn-1"})
    reads = [stack.get(f"/v1/provinces/{ELSEWHERE}/coverage", who="dong_thap"),
             stack.get("/v1/gateways", who="dong_thap", province=ELSEWHERE),
             stack.get("/v1/registry/organisations", who="dong_thap", province=ELSEWHERE),
             stack.get("/v1/indicators/active_iot_devices/values", who="dong_thap", province=ELSEWHERE),
             stack.get(f"/v1/provinces/{ELSEWHERE}/reports/2026/H1.csv", who="dong_thap")]
    refused = (created.status_code == 403 and f"ward_code: {ward} is in province {ELSEWHERE}" in
               created.json()["detail"] and moved.status_code == 403 and "gw-dn-1" in moved.json()["detail"]
               and all(r.status_code == 403 for r in reads))
    devices = stack.get("/v1/registry/devices", who="operator").json()["rows"]
    unchanged = "gw-x" not in _registry_ids(stack, "gateways") and [
        d["gateway_id"] for d in devices if d["id"] == "soil-1"] == ["gw-dt-1"]
    logged = stack.get("/v1/access-log", who="operator", province=ELSEWHERE).json()["accesses"] == []
    ledger.refused("province token creates or reads in another province", ok=refused and unchanged and logged,
                   verdict=f"403 for an import, a move and {len(reads)} reads; nothing stored or logged")
