"""Every kind of response carries the security headers: API answers, errors (401, 404, 422,
an unhandled exception's 500), the dashboard's files and the OpenAPI pages."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from iotgw.api.security_headers import DOCS_POLICY, POLICY, SecurityHeaders

from tests.api.conftest import PROVINCE, Stack

pytestmark = pytest.mark.integration

FIXED = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def _assert_secured(headers: object, policy: str = POLICY) -> None:
    assert {name: headers[name] for name in FIXED} == FIXED  # type: ignore[index]
    assert headers["content-security-policy"] == policy  # type: ignore[index]


@pytest.mark.parametrize(("path", "who", "status", "kind"), [
    ("/v1/provinces", "ministry", 200, "application/json"),
    ("/v1/provinces", None, 401, "application/json"),
    (f"/v1/provinces/{PROVINCE}/reports/1999/H1.csv", "ministry", 422, "application/json"),
    ("/v1/no-such-thing", "ministry", 404, "application/json"),
    ("/healthz", None, 200, "application/json"),
    ("/", None, 200, "text/html"),
    ("/app.js", None, 200, "text/javascript"),
    ("/style.css", None, 200, "text/css"),
    ("/missing.png", None, 404, "application/json"),
    (f"/v1/provinces/{PROVINCE}/reports/2026/H1.csv", "ministry", 200, "text/csv"),
])
def test_every_response_carries_the_headers(stack: Stack, path: str, who: str | None, status: int,
                                            kind: str) -> None:
    response = stack.get(path, who=who)
    assert response.status_code == status
    assert response.headers["content-type"].startswith(kind)
    _assert_secured(response.headers)


def test_the_policy_forbids_inline_script_and_framing() -> None:
    directives = dict(part.strip().split(" ", 1) for part in POLICY.split(";"))
    assert directives["default-src"] == directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in POLICY


def test_the_openapi_page_may_load_swagger_ui_and_still_not_be_framed(stack: Stack) -> None:
    response = stack.get("/docs", who=None)
    assert response.status_code == 200 and "swagger-ui" in response.text
    _assert_secured(response.headers, DOCS_POLICY)
    assert "frame-ancestors 'none'" in DOCS_POLICY


def test_a_crash_is_answered_with_the_headers_and_still_raised() -> None:
    app = FastAPI()

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    app.add_middleware(SecurityHeaders)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/crash")
    assert response.status_code == 500
    _assert_secured(response.headers)
    with TestClient(app) as client, pytest.raises(RuntimeError, match="boom"):
        client.get("/crash")  # logged by the server as before, not swallowed


def test_headers_set_by_a_route_are_replaced_not_doubled() -> None:
    app = FastAPI()

    @app.get("/framed")
    def framed() -> dict[str, str]:
        return {}

    @app.middleware("http")
    async def allow_framing(request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers["X-Frame-Options"] = "ALLOWALL"
        return response

    app.add_middleware(SecurityHeaders)
    with TestClient(app) as client:
        response = client.get("/framed")
    assert response.headers.get_list("x-frame-options") == ["DENY"]
    _assert_secured(response.headers)
