"""Hostile API requests: injection attempts in parameters change nothing, oversized
uploads are refused before they are read whole."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from iotgw.api.routes.registry_admin import MAX_CSV_BYTES
from iotgw.tsdb.schema import TELEMETRY

from tests.api.conftest import DAY, PROVINCE, Stack
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]

INJECTIONS = ["' OR '1'='1", "aq-1' OR device =~ /.*/ --", '"; DROP MEASUREMENT telemetry; --',
              "aq-1\nDROP DATABASE x", "../../etc/passwd", "%00", "aq-1'; DELETE FROM devices; --"]


def _stored(stack: Stack) -> int:
    series = stack.influx.query(stack.database, f'SELECT count("quality") FROM "{TELEMETRY}"')
    return int(series[0].rows[0]["count"]) if series else 0


def test_injection_attempts_in_parameters_change_nothing(stack: Stack) -> None:
    before = _stored(stack)
    window = {"from": "2026-03-10T00:00:00+07:00", "to": "2026-03-11T00:00:00+07:00"}
    answers = set()
    for text in INJECTIONS:
        segment = quote(text, safe="")  # as a client sends it in a path
        for path, params in [
            (f"/v1/devices/{segment}/readings", window),
            (f"/v1/indicators/{segment}/values", {"province": PROVINCE}),
            ("/v1/indicators/active_iot_devices/values", {"province": text}),
            ("/v1/indicators/active_iot_devices/values", {"province": PROVINCE, "level": text}),
            (f"/v1/provinces/{PROVINCE}/coverage", {"date": text}),
        ]:
            response = stack.get(path, **params)
            answers.add(response.status_code)
            assert response.status_code in {404, 422}, (path, params, response.text)
            assert "detail" in response.json()
    intact = _stored(stack) == before and stack.get(
        "/v1/devices/aq-1/readings", resolution="raw", **window).json()["readings"][0]["pm2_5"] == 10.0
    ledger.refused(f"{len(INJECTIONS) * 5} injection attempts in API parameters", ok=intact,
                   verdict=f"answered {sorted(answers)}, data unchanged")
    assert stack.get("/v1/indicators/active_iot_devices/values", province=PROVINCE,
                     **{"from": DAY, "to": DAY}).status_code == 200


def test_an_oversized_upload_is_refused(stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {stack.tokens['operator']}"}
    header = "id,name,type,sector,ward_code,since\n"
    row = f"farm-x,Trại,farm,agriculture,{stack.wards[0]},2026-01-01\n"
    big = header + row * (MAX_CSV_BYTES // len(row) + 1)
    response = stack.client.post("/v1/registry/organisations", content=big, headers=headers)

    def chunks():  # no Content-Length: the limit must hold while streaming
        yield big.encode()[:1_000_000]
        yield big.encode()[1_000_000:]

    streamed = stack.client.post("/v1/registry/organisations", content=chunks(), headers=headers)
    ledger.refused(f"API upload over {MAX_CSV_BYTES:,} bytes (with and without Content-Length)",
                   ok=response.status_code == streamed.status_code == 413,
                   verdict=f"{response.status_code}, {streamed.status_code}")
