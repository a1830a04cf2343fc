"""Abuse of the API's limits: a token flooding the API is throttled (429) without
touching other tokens, a 5 MB registry import does not stall ``/healthz``, and each
request that once made a 500 is a 422 naming what is wrong."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from iotgw.api import ApiConfig, create_app
from iotgw.api.routes.registry_admin import MAX_CSV_BYTES

from tests.api import conftest as api
from tests.api.conftest import PROVINCE, Stack
from tests.api.server import serving
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]

stack = api.stack  # the API's fixture: a province's registry and data behind the real app

FLOOD, LIMIT = 60, 30
HEALTH_CHECKS = 5


def test_a_token_flood_is_throttled_and_other_tokens_are_not(stack: Stack) -> None:
    cfg = ApiConfig.model_validate(stack.cfg.model_dump() | {"rate_limit": f"{LIMIT}/minute"})
    flooder = {"Authorization": f"Bearer {stack.tokens['dong_thap']}"}
    with TestClient(create_app(cfg)) as client:
        answers = [client.get("/v1/gateways", params={"province": PROVINCE}, headers=flooder)
                   for _ in range(FLOOD)]
        other = client.get("/v1/gateways", params={"province": PROVINCE},
                           headers={"Authorization": f"Bearer {stack.tokens['ministry']}"})
    served = sum(a.status_code == 200 for a in answers)
    refused = [a for a in answers if a.status_code == 429]
    waits = {int(a.headers.get("Retry-After", "0")) for a in refused}
    ok = served == LIMIT and len(refused) == FLOOD - LIMIT and min(waits) >= 1 and other.status_code == 200
    ledger.refused(f"{FLOOD} requests in a minute from one token (limit {LIMIT}/minute)", ok=ok,
                   verdict=f"{served} served, {len(refused)} refused 429 (Retry-After {sorted(waits)} s), "
                           f"another token answered {other.status_code}")


def _organisations_csv(ward: int) -> bytes:
    """Valid rows, just under the import's size limit."""
    header = "id,name,type,sector,ward_code,since\n"
    rows = [header]
    size, n = len(header), 0
    while True:
        row = f"farm-{n:06d},Trại {n:06d},farm,agriculture,{ward},2026-01-01\n"
        if size + len(row.encode()) > MAX_CSV_BYTES - 1_000:
            return "".join(rows).encode()
        rows.append(row)
        size, n = size + len(row.encode()), n + 1


def test_a_5_mb_import_does_not_stall_health(stack: Stack) -> None:
    body = _organisations_csv(stack.wards[0])
    sent = threading.Event()
    done = threading.Event()
    outcome: dict[str, object] = {}

    def upload() -> Iterator[bytes]:
        for start in range(0, len(body), 256 * 1024):
            yield body[start:start + 256 * 1024]
        sent.set()

    def run_import(url: str) -> None:
        try:
            outcome["response"] = httpx.post(
                f"{url}/v1/registry/organisations", content=upload(), timeout=600,
                headers={"Authorization": f"Bearer {stack.tokens['dong_thap']}"})
        except httpx.HTTPError as exc:
            outcome["response"] = exc
        finally:
            done.set()

    with serving(create_app(stack.cfg)) as url:
        importer = threading.Thread(target=run_import, args=(url,), daemon=True)
        importer.start()
        assert sent.wait(timeout=120), "the upload was not sent within 120 s"
        # Blocking work on the event loop held every request until the import's answer:
        # each health check here would then come back after it.
        during = []
        for _ in range(HEALTH_CHECKS):
            status = httpx.get(f"{url}/healthz", timeout=300).status_code
            during.append((status, done.is_set()))
        importer.join(timeout=600)
    response = outcome.get("response")
    imported = response.json() if isinstance(response, httpx.Response) and response.status_code == 200 else {}
    answered_first = [status == 200 and not finished for status, finished in during]
    ok = all(answered_first) and imported.get("imported", 0) > 50_000
    ledger.refused(f"a {len(body) / 1e6:.1f} MB registry import from a province token", ok=ok,
                   verdict=f"{sum(answered_first)}/{HEALTH_CHECKS} health checks answered before the "
                           f"import's response; the import answered "
                           f"{getattr(response, 'status_code', response)}, {imported.get('imported')} rows")


def _nested(depth: int) -> str:
    return '{"id": ' + "[" * depth + "]" * depth + "}"


JSON, CSV = "application/json", "text/csv"
# (what, method, path, parameters, body and its type, the name the 422 must carry)
FORMER_500S = [
    ("open data for month 2026-13", "GET", f"/v1/open/provinces/{PROVINCE}/environment",
     {"month": "2026-13"}, None, "month"),
    ("open data for month 0000-01", "GET", f"/v1/open/provinces/{PROVINCE}/environment",
     {"month": "0000-01"}, None, "month"),
    ("indicator values for a unit with a newline", "GET", "/v1/indicators/active_iot_devices/values",
     {"province": PROVINCE, "unit": "82\nx"}, None, "unit"),
    ("indicator values from the year 142", "GET", "/v1/indicators/active_iot_devices/values",
     {"province": PROVINCE, "from": "0142-07-08"}, None, "from"),
    ("coverage on a day of the year 500", "GET", f"/v1/provinces/{PROVINCE}/coverage",
     {"date": "0500-06-23"}, None, "date"),
    ("the access log since the year 9999", "GET", "/v1/access-log",
     {"since": "9999-12-31T23:59:59-23:59"}, None, "since"),
    ("a registry import of JSON nested 100,000 deep", "POST", "/v1/registry/organisations",
     {}, (JSON, _nested(100_000)), "nested"),
    ("a registry import of JSON with a 5,000-digit number", "POST", "/v1/registry/organisations",
     {}, (JSON, '{"id": "a", "ward_code": 1' + "0" * 5_000 + "}"), "digits"),
    ("a registry import of CSV with a 200,000-character field", "POST", "/v1/registry/organisations",
     {}, (CSV, "id,name,type,sector,ward_code,since\n"
               f"x,{'a' * 200_000},farm,agriculture,1,2026-01-01\n"), "field"),
]


def test_requests_that_made_a_500_are_422_naming_what_is_wrong(stack: Stack) -> None:
    for what, method, path, params, body, name in FORMER_500S:
        content_type, content = body or (JSON, None)
        answer = stack.client.request(method, path, params=params, content=content, headers={
            "Authorization": f"Bearer {stack.tokens['operator']}", "Content-Type": content_type})
        is_json = answer.headers.get("content-type") == JSON
        detail = answer.json().get("detail") if is_json else answer.text
        named = name in str(detail)
        ledger.refused(what, ok=answer.status_code == 422 and named,
                       verdict=f"{answer.status_code}, naming {name!r}: {str(detail)[:80]}")
