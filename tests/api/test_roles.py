"""The four roles (issue 20): an organisation's token reads its own devices and nothing
province-wide; ``/v1/me``; reads of households' personal data are recorded and read by
operators; an unknown token is remembered for a short while, not looked up each time."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from fastapi import HTTPException
from iotgw.api.auth import UNKNOWN_TTL_S, Authenticator, Principal, _hash, create_token
from iotgw.registry import ApiRole, ApiToken, make_engine, session_factory
from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request

from tests.api.conftest import DAY, PROVINCE, Stack
from tests.iotgw.test_cli import iotgw

pytestmark = pytest.mark.integration

WINDOW = {"from": f"{DAY}T00:00:00+07:00", "to": f"{DAY}T23:59:00+07:00", "resolution": "raw"}


def _add_tokens(stack: Stack, **organisations: str) -> None:
    """Organisation tokens, by name: the organisation each reads for."""
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        for name, organisation in organisations.items():
            stack.tokens[name] = create_token(s, name, ApiRole.ORGANISATION, organisation=organisation)


def _insert_token(stack: Stack, token_id: str, token: str) -> None:
    """A token row for a token chosen by the test (``create_token`` draws its own)."""
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        s.add(ApiToken(id=token_id, token_hash=_hash(token), role=ApiRole.MINISTRY,
                       created_at=dt.datetime.now(dt.UTC)))


def test_an_organisation_reads_its_own_devices_only(stack: Stack) -> None:
    _add_tokens(stack, farm="farm-1")
    own = stack.get("/v1/devices/soil-1/readings", who="farm", **WINDOW)
    assert own.status_code == 200 and own.json()["readings"]
    for other in ("soil-2", "aq-1", "meter-1"):  # another farm's, no one's, a household's
        response = stack.get(f"/v1/devices/{other}/readings", who="farm", **WINDOW)
        assert response.status_code == 403, (other, response.text)
        assert "organisation farm-1" in response.json()["detail"]


def test_an_organisation_sees_nothing_province_wide(stack: Stack) -> None:
    _add_tokens(stack, farm="farm-1")
    headers = {"Authorization": f"Bearer {stack.tokens['farm']}"}
    answers = {
        "coverage": stack.get(f"/v1/provinces/{PROVINCE}/coverage", who="farm"),
        "values": stack.get("/v1/indicators/active_iot_devices/values", who="farm", province=PROVINCE),
        "gateways": stack.get("/v1/gateways", who="farm", province=PROVINCE),
        "report": stack.get(f"/v1/provinces/{PROVINCE}/reports/2026/H1.csv", who="farm"),
        "registry": stack.get("/v1/registry/devices", who="farm"),
        "import": stack.client.post("/v1/registry/organisations", headers=headers,
                                    content="id,name,type,sector,ward_code,since\n"),
        "move": stack.client.post("/v1/registry/moves", headers=headers, json={
            "kind": "device", "id": "soil-1", "at": "2026-03-01T00:00:00+07:00",
            "ward_code": stack.wards[1]}),
        "access log": stack.get("/v1/access-log", who="farm"),
    }
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 403)


def test_an_organisation_s_requests_count_as_its_platform_use(stack: Stack) -> None:
    _add_tokens(stack, farm="farm-1")
    assert stack.get("/v1/me", who="farm").status_code == 200
    deadline = time.monotonic() + 10
    series = []
    while time.monotonic() < deadline and not series:
        series = stack.influx.query(stack.database,
                                    "SELECT sum(requests) FROM platform_use WHERE organisation = 'farm-1'")
        time.sleep(0.2)
    assert series and series[0].rows[0]["sum"] >= 1


def test_me_says_who_is_signed_in(stack: Stack) -> None:
    _add_tokens(stack, farm="farm-1")
    assert stack.get("/v1/me", who="farm").json() == {
        "token": "farm", "role": "organisation", "province": None, "organisation": "farm-1",
        "devices": [{"id": "soil-1", "profile": "soil_probe", "ward": stack.wards[0]}]}
    assert stack.get("/v1/me", who="dong_thap").json() == {
        "token": "dong-thap", "role": "province", "province": PROVINCE, "organisation": "coop-1",
        "devices": []}
    assert stack.get("/v1/me", who=None).status_code == 401


def test_an_organisation_token_must_name_its_organisation(stack: Stack) -> None:
    sessions = session_factory(make_engine(stack.registry_url))
    with sessions() as s, pytest.raises(ValueError, match="must name its organisation"):
        create_token(s, "nameless", ApiRole.ORGANISATION)
    with sessions() as s:  # past create_token: the constraint
        s.add(ApiToken(id="nameless", token_hash="0" * 64, role=ApiRole.ORGANISATION,
                       created_at=dt.datetime.now(dt.UTC)))
        with pytest.raises(IntegrityError, match="organisation_role_has_organisation"):
            s.flush()
    with pytest.raises(ValueError, match="no organisation"):
        Principal("nameless", ApiRole.ORGANISATION, None, None)
    refused = iotgw("api", "token", "create", "farm-cli", "--role", "organisation",
                    "--url", stack.registry_url)
    assert refused.returncode == 2 and "--role organisation needs --organisation ID" in refused.stderr
    made = iotgw("api", "token", "create", "farm-cli", "--role", "organisation", "--organisation", "farm-2",
                 "--url", stack.registry_url)
    assert made.returncode == 0, made.stderr
    stack.tokens["farm-cli"] = made.stdout.strip()
    assert stack.get("/v1/devices/soil-2/readings", who="farm-cli", **WINDOW).status_code == 200


def test_reads_of_household_readings_are_recorded_for_operators(stack: Stack) -> None:
    assert stack.get("/v1/access-log", who="operator").json() == {"accesses": []}
    assert stack.get("/v1/devices/meter-1/readings", who="dong_thap", **WINDOW).status_code == 200
    assert stack.get("/v1/devices/soil-1/readings", who="dong_thap", **WINDOW).status_code == 200  # a farm's
    assert stack.get("/v1/devices/meter-2/readings", who="ministry", **WINDOW).status_code == 403  # refused
    assert stack.get("/v1/registry/organisations", who="dong_thap").status_code == 200
    log = stack.get("/v1/access-log", who="operator", province=PROVINCE).json()["accesses"]
    assert [(a["token"], a["route"], a["device"], a["organisation"], a["province"]) for a in log] == [
        ("dong-thap", "GET /v1/registry/organisations", None, "home-2", PROVINCE),
        ("dong-thap", "GET /v1/registry/organisations", None, "home-1", PROVINCE),
        ("dong-thap", "GET /v1/devices/{device_id}/readings", "meter-1", "home-1", PROVINCE),
    ]
    assert stack.get("/v1/access-log", who="operator", province=75).json() == {"accesses": []}
    assert stack.get("/v1/access-log", who="operator", limit=1).json()["accesses"][0]["route"] == \
        "GET /v1/registry/organisations"
    assert stack.get("/v1/access-log", who="dong_thap").status_code == 403
    assert stack.get("/v1/access-log", who="ministry").status_code == 403
    too_many = stack.get("/v1/access-log", who="operator", limit=1001)
    assert too_many.status_code == 422 and "limit" in str(too_many.json()["detail"])
    naive = stack.get("/v1/access-log", who="operator", since="2026-03-01T00:00:00")
    assert naive.status_code == 422 and "'since'" in naive.json()["detail"]


def _queries_on_tokens(engine: Engine) -> list[str]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "api_tokens" in statement:
            seen.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    return seen


def test_an_unknown_token_costs_one_lookup_and_a_new_one_works_after_the_ttl(stack: Stack) -> None:
    engine = stack.client.app.state.sessions.kw["bind"]
    lookups = _queries_on_tokens(engine)
    stack.tokens["late"] = "a token made after its first use"
    answers = {stack.get("/v1/me", who="late").status_code for _ in range(20)}
    assert answers == {401} and len(lookups) == 1
    _insert_token(stack, "late", stack.tokens["late"])
    deadline = time.monotonic() + UNKNOWN_TTL_S + 10
    while (answer := stack.get("/v1/me", who="late")).status_code == 401 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert answer.status_code == 200 and answer.json()["token"] == "late"


def _request(token: str) -> Request:
    return Request({"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())]})


def test_unknown_tokens_are_remembered_for_the_ttl_only(stack: Stack) -> None:
    sessions = session_factory(make_engine(stack.registry_url))
    remembering = Authenticator(sessions, 30, unknown_ttl_s=600)
    forgetting = Authenticator(sessions, 30, unknown_ttl_s=0.2)

    async def answer(authenticator: Authenticator, token: str) -> int | str:
        try:
            return (await authenticator(_request(token))).token_id
        except HTTPException as exc:
            return exc.status_code

    token = "chosen by the test"
    assert asyncio.run(answer(remembering, token)) == 401
    assert asyncio.run(answer(forgetting, token)) == 401
    _insert_token(stack, "chosen", token)
    assert asyncio.run(answer(remembering, token)) == 401  # still remembered as unknown
    deadline = time.monotonic() + 10
    while (got := asyncio.run(answer(forgetting, token))) == 401 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert got == "chosen"
