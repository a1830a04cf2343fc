"""Every endpoint's success and error cases, and who may see what."""

from __future__ import annotations

import datetime as dt
import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from iotgw.api import views
from iotgw.api.app import create_app
from iotgw.registry import ApiToken, Ward, make_engine, session_factory
from openpyxl import load_workbook
from sqlalchemy import select

from tests.api.conftest import DAY, PROVINCE, Stack
from tests.faults import ledger

pytestmark = pytest.mark.integration

VALUES = "/v1/indicators/farms_coops_using_platform/values"


@pytest.mark.faults
def test_health_needs_no_token_and_everything_else_does(stack: Stack) -> None:
    assert stack.get("/healthz", who=None).json() == {"status": "ok"}
    missing = stack.get("/v1/indicators", who=None)
    ledger.refused("API request without a token", ok=missing.status_code == 401
                   and "Bearer" in missing.json()["detail"], verdict=f"{missing.status_code}")
    wrong = stack.client.get("/v1/indicators", headers={"Authorization": "Bearer nope"})
    ledger.refused("API request with an unknown token", ok=wrong.status_code == 401
                   and "unknown or revoked" in wrong.json()["detail"], verdict=f"{wrong.status_code}")


def test_indicator_values_with_target_gap_and_denominator(stack: Stack) -> None:
    catalogue = stack.get("/v1/indicators").json()
    assert {i["id"] for i in catalogue} >= {"farms_coops_using_platform", "active_iot_devices"}
    got = stack.get(VALUES, province=PROVINCE, period="day", **{"from": DAY, "to": DAY}).json()
    [value] = got["values"]
    # farm-1 has an active probe, coop-1 used the API; farm-2 neither: 2 of 3 registered.
    assert (value["numerator"], value["denominator"], value["denominator_source"]) == (
        2, 3, "registered")
    assert value["value"] == pytest.approx(200 / 3) and value["target"] is None  # no target for 82
    smes = stack.get("/v1/indicators/smes_applying_digital_technology/values", province=PROVINCE,
                     period="year", **{"from": DAY, "to": DAY}).json()["values"][0]
    assert smes["value"] == 0.0  # sme-1 has neither device nor API use
    assert smes["target"] == {"value": 30.0, "comparator": ">=", "year": 2026, "met": False, "gap": 30.0,
                              "plan": "002", "line": 56, "evidence": ["declaration"], "measured": 0.0,
                              "baseline_year": 2025, "baseline": None, "expected_on_path": None,
                              "on_path": None}
    assert smes["evidence"] == {"declaration": 0, "telemetry": 0, "platform_use": 0}
    communes = stack.get("/v1/indicators/active_iot_devices/values", province=PROVINCE, period="day",
                         level="commune", **{"from": DAY, "to": DAY}).json()["values"]
    # The households' commune: 2 households < 5, suppressed but for their own province.
    assert {v["unit"]: v["value"] for v in communes} == {
        str(stack.wards[0]): 1, str(stack.wards[1]): 0, str(stack.wards[2]): 1, str(stack.wards[3]): None}
    own = stack.get("/v1/indicators/active_iot_devices/values", who="dong_thap", province=PROVINCE,
                    period="day", level="commune", **{"from": DAY, "to": DAY}).json()["values"]
    assert {v["unit"]: v["value"] for v in own}[str(stack.wards[3])] == 2


@pytest.mark.parametrize(("path", "params", "status", "detail"), [
    ("/v1/indicators/nope/values", {"province": PROVINCE}, 404, "no indicator 'nope'"),
    (VALUES, {"province": 99}, 404, "no province 99"),
    (VALUES, {"province": PROVINCE, "level": "device"}, 422, "has no breakdown by device"),
    (VALUES, {"province": PROVINCE, "period": "week"}, 422, None),
    (VALUES, {"province": "x"}, 422, None),
    (VALUES, {"province": PROVINCE, "from": "2026-03-02", "to": "2026-03-01"}, 422, "'from' is after"),
    ("/v1/devices/nope/readings", {"from": "2026-03-10T00:00:00+07:00", "to": "2026-03-11T00:00:00+07:00"},
     404, "no device"),
    ("/v1/devices/aq-1/readings", {"from": "2026-03-10T00:00:00", "to": "2026-03-11T00:00:00+07:00"},
     422, "needs a UTC offset"),
    ("/v1/devices/aq-1/readings", {"from": "2026-01-01T00:00:00+07:00", "to": "2026-03-11T00:00:00+07:00",
                                   "resolution": "raw"}, 422, "at most 7 days at resolution raw"),
    ("/v1/provinces/82/reports/1999/H1.csv", {}, 422, "outside 2020-2100"),
    ("/v1/provinces/82/reports/2026/Q1.csv", {}, 422, None),
])
def test_bad_requests_say_which_parameter_and_why(stack: Stack, path: str, params: dict,
                                                  status: int, detail: str | None) -> None:
    response = stack.get(path, **params)
    assert response.status_code == status, response.text
    if detail:
        assert detail in str(response.json()["detail"])


@pytest.mark.faults
def test_a_province_token_reads_only_its_province(stack: Stack) -> None:
    assert stack.get(VALUES, who="dong_thap", province=PROVINCE).status_code == 200
    refused = stack.get(VALUES, who="dong_nai", province=PROVINCE)
    ledger.refused("API token of another province", verdict=str(refused.status_code),
                   ok=refused.status_code == 403 and "for province 75, not 82" in refused.json()["detail"])
    assert stack.get(f"/v1/provinces/{PROVINCE}/coverage", who="dong_nai").status_code == 403
    assert stack.get("/v1/gateways", who="dong_nai", province=PROVINCE).status_code == 403
    assert stack.get(f"/v1/provinces/{PROVINCE}/reports/2026/H1.csv", who="dong_nai").status_code == 403


def test_clients_asking_at_once_for_the_same_coverage_share_one_computation(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    computed = []

    def counted(*args: object, **kwargs: object) -> object:
        computed.append(args)
        time.sleep(0.3)  # long enough for every client to ask while it is being computed
        return real(*args, **kwargs)

    real = views.coverage
    monkeypatch.setattr(views, "coverage", counted)
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: stack.get(f"/v1/provinces/{PROVINCE}/coverage", date=DAY),
                                range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    assert all(a.json() == answers[0].json() for a in answers)
    assert len(computed) == 1


def test_coverage_per_commune_and_households_suppressed_outside_their_province(stack: Stack) -> None:
    ministry = stack.get(f"/v1/provinces/{PROVINCE}/coverage", date=DAY).json()
    rows = {r["commune"]: r for r in ministry["communes"]}
    first, second, homes = rows[stack.wards[0]], rows[stack.wards[1]], rows[stack.wards[3]]
    assert (first["devices"], first["active"], first["active_by_profile"]) == (1, 1, {"soil_probe": 1})
    assert first["availability"] == 100.0 and first["last_seen"].startswith("2026-03-10")
    assert (second["devices"], second["active"], second["availability"]) == (1, 0, 0.0)
    assert (homes["devices"], homes["active"]) == (0, 0)  # 2 households < 5: suppressed
    assert ministry["communes_with_households_suppressed"] == 1
    assert ministry["communes_without_active_device"] == len(rows) - 2
    own = stack.get(f"/v1/provinces/{PROVINCE}/coverage", who="dong_thap", date=DAY).json()
    mine = {r["commune"]: r for r in own["communes"]}[stack.wards[3]]
    assert (mine["devices"], mine["active_by_profile"]) == (2, {"electricity_meter": 2})


def test_readings_by_resolution_and_household_privacy(stack: Stack) -> None:
    window = {"from": "2026-03-10T00:00:00+07:00", "to": "2026-03-11T00:00:00+07:00"}
    hourly = stack.get("/v1/devices/aq-1/readings", resolution="hour", **window).json()["readings"]
    assert len(hourly) == 24 and hourly[0]["readings"] == 6 and "pm2_5_mean" in hourly[0]
    raw = stack.get("/v1/devices/aq-1/readings", resolution="raw", **window).json()["readings"]
    assert len(raw) == 144 and raw[0]["pm2_5"] == 10.0
    refused = stack.get("/v1/devices/meter-1/readings", **window)
    assert refused.status_code == 403 and "personal data" in refused.json()["detail"]
    own = stack.get("/v1/devices/meter-1/readings", who="dong_thap", resolution="day", **window)
    assert own.json()["readings"][0]["active_energy_increase"] == pytest.approx(14.3)


def test_gateway_health(stack: Stack) -> None:
    # Heartbeats are read from the last ``health_window_days`` only (the fixture's is older).
    stack.influx.write_lines(stack.database, "gateway_health,gateway=gw-dt-1 online=true,buffer_depth=0"
                                             f" {int(time.time() * 1000) - 60_000}")
    [gateway] = stack.get("/v1/gateways", province=PROVINCE).json()
    assert gateway["gateway"] == "gw-dt-1" and gateway["health"]["buffer_depth"] == 0
    assert gateway["id_conflict"] is False
    # A later heartbeat of an agent whose session another client keeps taking over (a clone).
    stack.influx.write_lines(stack.database, "gateway_health,gateway=gw-dt-1 online=true,id_conflicts=3"
                                             f" {int(time.time() * 1000)}")
    [gateway] = stack.get("/v1/gateways", province=PROVINCE).json()
    assert gateway["id_conflict"] is True and gateway["health"]["id_conflicts"] == 3


def test_registry_import_is_for_administrators_and_all_or_nothing(stack: Stack) -> None:
    csv = f"id,name,type,sector,ward_code,since\nfarm-9,Trại 9,farm,agriculture,{stack.wards[0]},2026-01-01\n"
    headers = {"Authorization": f"Bearer {stack.tokens['ministry']}"}
    assert stack.client.post("/v1/registry/organisations", content=csv, headers=headers).status_code == 403
    headers = {"Authorization": f"Bearer {stack.tokens['operator']}"}
    ok = stack.client.post("/v1/registry/organisations", content=csv, headers=headers)
    assert ok.json() == {"imported": 1, "kind": "organisations"}
    bad = stack.client.post("/v1/registry/organisations", headers=headers,
                            content="id,name,type,sector,ward_code,since\nx,X,orchard,agriculture,1,2026-01-01\n")
    assert bad.status_code == 422 and "nothing imported" in bad.json()["detail"]
    assert stack.client.post("/v1/registry/plants", content=csv, headers=headers).status_code == 422


def test_a_province_administers_its_own_registry_only(stack: Stack) -> None:
    own = {"Authorization": f"Bearer {stack.tokens['dong_thap']}"}
    listed = stack.client.get("/v1/registry/devices", headers=own)
    assert listed.status_code == 200 and listed.json()["province"] == PROVINCE
    devices = sorted(r["id"] for r in listed.json()["rows"])
    assert devices == ["aq-1", "meter-1", "meter-2", "soil-1", "soil-2"]
    assert listed.json()["rows"][0]["expected_interval_s"] == 600
    assert stack.client.get("/v1/registry/devices", headers=own, params={"province": 75}).status_code == 403
    assert stack.get("/v1/registry/devices").status_code == 403  # ministries read aggregates only
    assert stack.get("/v1/registry/devices", who="operator", province=75).json()["rows"] == []

    # One row as JSON, in the province: added; then visible in the list.
    farm = {"id": "farm-10", "name": "Trại 10", "type": "farm", "sector": "agriculture",
            "ward_code": stack.wards[1], "since": "2026-02-01"}
    added = stack.client.post("/v1/registry/organisations", json=farm, headers=own)
    assert added.json() == {"imported": 1, "kind": "organisations"}
    rows = stack.client.get("/v1/registry/organisations", headers=own).json()["rows"]
    assert {"id": "farm-10", "ward_code": stack.wards[1], "since": "2026-02-01"}.items() <= \
        next(r for r in rows if r["id"] == "farm-10").items()

    # A list with one row in another province: refused whole, with the line that is not its own.
    with session_factory(make_engine(stack.registry_url))() as s:
        elsewhere = s.scalar(select(Ward.code).where(Ward.province_code == 75).limit(1))
    rows = [{**farm, "id": "farm-11"}, {**farm, "id": "farm-12", "ward_code": elsewhere}]
    refused = stack.client.post("/v1/registry/organisations", json=rows, headers=own)
    assert refused.status_code == 403
    assert f"line 2: ward_code: {elsewhere} is in province 75, not {PROVINCE}" in refused.json()["detail"]
    ids = {r["id"] for r in stack.client.get("/v1/registry/organisations", headers=own).json()["rows"]}
    assert "farm-11" not in ids
    # Bad rows name the field; a body that is not rows is refused.
    wrong = stack.client.post("/v1/registry/organisations", json={**farm, "id": "farm-13", "type": "palace"},
                              headers=own)
    assert wrong.status_code == 422 and "line 1: type: Input should be" in wrong.json()["detail"]
    assert stack.client.post("/v1/registry/organisations", json=[1, 2], headers=own).status_code == 422
    assert stack.client.post("/v1/registry/organisations", content="{", headers={
        **own, "Content-Type": "application/json"}).json()["detail"].startswith("not JSON")


def test_the_xlsx_report_has_the_api_s_figures(stack: Stack) -> None:
    response = stack.get(f"/v1/provinces/{PROVINCE}/reports/2026/H1.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["Chỉ tiêu"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=3, values_only=True)}
    half = stack.get(VALUES, province=PROVINCE, period="half", **{"from": DAY, "to": DAY}).json()
    api_value = half["values"][0]
    assert rows["farms_coops_using_platform"][2] == "2026-H1"
    assert rows["farms_coops_using_platform"][3] == round(api_value["value"], 2)
    assert rows["farms_coops_using_platform"][5:7] == (api_value["numerator"], api_value["denominator"])
    assert "000_e9677575aa9b099a.txt dòng 32" in rows["farms_coops_using_platform"][11]
    assert "Định nghĩa" in load_workbook(io.BytesIO(response.content)).sheetnames
    csv = stack.get(f"/v1/provinces/{PROVINCE}/reports/2026/year.csv")
    assert "\r\nMã chỉ tiêu,Tên chỉ tiêu," in csv.content.decode("utf-8-sig")  # after the header rows


def test_open_environmental_data_needs_no_token(stack: Stack) -> None:
    body = stack.get(f"/v1/open/provinces/{PROVINCE}/environment", who=None, month="2026-03").json()
    [row] = body["rows"]
    assert row["station"] == "aq-1" and row["date"] == "2026-03-10"
    assert row["pm2_5"] == pytest.approx(12.958, abs=1e-3)
    assert "pm2_5" in body["data_dictionary"]
    csv = stack.get(f"/v1/open/provinces/{PROVINCE}/environment", who=None, month="2026-03", format="csv")
    assert csv.text.splitlines()[0].startswith("station,commune,date")
    assert stack.get(f"/v1/open/provinces/{PROVINCE}/environment", who=None, month="March").status_code == 422


def test_authenticated_requests_are_logged_as_platform_use(stack: Stack) -> None:
    for _ in range(3):
        stack.get("/v1/indicators", who="dong_thap")
    deadline = time.monotonic() + 10
    count = 0
    while time.monotonic() < deadline and count < 3:
        series = stack.influx.query(stack.database, 'SELECT sum("requests") FROM "raw"."platform_use"'
                                                    " WHERE \"token\" = 'dong-thap' AND time > now() - 1h")
        count = series[0].rows[0]["sum"] if series else 0
        time.sleep(0.1)
    assert count == 3


def test_before_the_first_rollup_values_are_empty_not_an_error(stack: Stack, unique_name: str) -> None:
    """Found by bench/soak.py: on a database no rollup has run on yet, the rollup's
    retention policy did not exist and every indicator query failed with a 500."""
    empty = f"{unique_name}_fresh"  # unique_name is the stack's own database
    influx = stack.cfg.influx.model_copy(update={"database": empty})
    fresh = stack.cfg.model_copy(update={"influx": influx})
    try:
        with TestClient(create_app(fresh)) as client:
            response = client.get(VALUES, params={"province": PROVINCE},
                                  headers={"Authorization": f"Bearer {stack.tokens['ministry']}"})
        assert response.status_code == 200 and response.json()["values"] == []
    finally:
        stack.influx.query(None, f'DROP DATABASE "{empty}"')


def test_a_revoked_token_is_refused_once_its_remembered_check_expires(stack: Stack) -> None:
    with TestClient(create_app(stack.cfg.model_copy(update={"token_cache_s": 0.5}))) as client:
        def status() -> int:
            return client.get("/v1/indicators", headers={
                "Authorization": f"Bearer {stack.tokens['dong_thap']}"}).status_code

        assert status() == 200
        engine = make_engine(stack.registry_url)
        with session_factory(engine)() as s, s.begin():
            s.get(ApiToken, "dong-thap").revoked_at = dt.datetime.now(dt.UTC)
        engine.dispose()
        assert status() == 200  # remembered for token_cache_s
        time.sleep(0.6)
        assert status() == 401
