"""``/openapi.json`` documents every successful response: a JSON body has a schema (a
``$ref`` to a named model, or a type), a file download names its media types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from iotgw.api import ApiConfig, create_app
from iotgw.devices.links import RegistryLink

METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture
def spec(tmp_path: Path) -> dict[str, Any]:
    # Not started (no ``with``): building the schema needs neither InfluxDB nor the registry.
    app = create_app(ApiConfig(registry=RegistryLink(url=f"sqlite:///{tmp_path / 'registry.sqlite'}")))
    response = TestClient(app).get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.removeprefix("#/components/schemas/")
    return spec["components"]["schemas"][name]


def _undocumented(spec: dict[str, Any]) -> list[str]:
    missing = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            ok = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
            if not ok:
                missing.append(f"{where}: no 2xx response")
            for code, response in ok.items():
                content = response.get("content") or {}
                if not content:
                    missing.append(f"{where} {code}: no content")
                for media_type, body in content.items():
                    if "json" not in media_type:
                        continue  # a declared file or text type documents itself
                    schema = body.get("schema") or {}
                    resolved = _resolve(spec, schema)
                    if not ({"$ref", "type"} & schema.keys()) or not (
                            {"type", "anyOf", "oneOf", "properties", "items"} & resolved.keys()):
                        missing.append(f"{where} {code} {media_type}: schema {schema}")
    return missing


def test_every_successful_response_has_a_schema_or_a_media_type(spec: dict[str, Any]) -> None:
    operations = [m for item in spec["paths"].values() for m in item if m in METHODS]
    assert len(operations) >= 12
    assert _undocumented(spec) == []


def test_responses_name_their_models(spec: dict[str, Any]) -> None:
    def ok_schema(path: str) -> dict[str, Any]:
        return spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    assert ok_schema("/v1/indicators") == {"$ref": "#/components/schemas/IndicatorsPublic"}
    assert ok_schema("/v1/provinces/{province}/coverage") == {"$ref": "#/components/schemas/CoveragePublic"}
    assert ok_schema("/v1/devices/{device_id}/readings") == {
        "$ref": "#/components/schemas/DeviceReadingsPublic"}
    assert ok_schema("/v1/gateways") == {"$ref": "#/components/schemas/GatewaysPublic"}
    assert {"IndicatorPublic", "IndicatorValuesPublic", "RegistryRowsPublic"} <= spec["components"][
        "schemas"].keys()


def test_reports_declare_their_file_types(spec: dict[str, Any]) -> None:
    report = spec["paths"]["/v1/provinces/{province}/reports/{year}/{part}"]["get"]["responses"]["200"]
    assert set(report["content"]) == {
        "text/csv; charset=utf-8", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    environment = spec["paths"]["/v1/open/provinces/{province}/environment"]["get"]["responses"]["200"]
    assert {"application/json", "text/csv; charset=utf-8"} <= set(environment["content"])
