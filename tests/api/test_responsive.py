"""The API stays bounded per caller and per request: rate limits per token and per
address, gateway health read for the province's gateways of a recent window only, open
data in one cached query per province and month."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from iotgw.api import ApiConfig, create_app
from iotgw.api.config import load_api_config
from iotgw.devices import ConfigError
from iotgw.registry import Device, Sector, SubjectKind, make_engine, place, session_factory
from iotgw.tsdb.raw import read_last_health

from tests.api.conftest import DAY, PLACED, PROVINCE, Stack

pytestmark = pytest.mark.integration

OPEN_DATA = f"/v1/open/provinces/{PROVINCE}/environment"
MONTH = DAY.strftime("%Y-%m")


def _client(stack: Stack, **limits: str) -> TestClient:
    return TestClient(create_app(ApiConfig.model_validate(stack.cfg.model_dump() | limits)))  # validated


def _bearer(stack: Stack, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.tokens[who]}"}


def test_a_token_over_its_limit_gets_429_and_others_do_not(stack: Stack) -> None:
    with _client(stack, rate_limit="5/minute") as client:
        answers = [client.get("/v1/me", headers=_bearer(stack, "ministry")).status_code for _ in range(8)]
        refused = client.get("/v1/indicators", headers=_bearer(stack, "ministry"))  # all routes, one budget
        other = client.get("/v1/me", headers=_bearer(stack, "operator"))
        health = [client.get("/healthz").status_code for _ in range(8)]
    assert answers == [200] * 5 + [429] * 3
    assert refused.status_code == 429 and "rate limit" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert other.status_code == 200
    assert health == [200] * 8  # probes are never limited


def test_open_data_is_limited_per_address_and_a_limit_can_be_off(stack: Stack) -> None:
    with _client(stack, open_data_rate_limit="3/minute") as client:
        answers = [client.get(OPEN_DATA, params={"month": MONTH}).status_code for _ in range(4)]
        with_token = client.get(OPEN_DATA, params={"month": MONTH}, headers=_bearer(stack, "ministry"))
        api = client.get("/v1/me", headers=_bearer(stack, "ministry"))
    assert answers == [200, 200, 200, 429]
    assert with_token.status_code == 429  # a token does not buy more open data
    assert api.status_code == 200  # the token's own budget is another
    with _client(stack, rate_limit="", open_data_rate_limit="0") as client:
        answers = {client.get("/v1/me", headers=_bearer(stack, "ministry")).status_code for _ in range(700)}
    assert answers == {200}


def test_gateway_health_is_read_for_the_asked_gateways_of_a_recent_window(stack: Stack) -> None:
    now_ms = int(time.time() * 1000)
    quoted = "gw'x"  # a tag value that needs escaping in InfluxQL
    stack.influx.write_lines(stack.database, "\n".join([
        f"gateway_health,gateway=gw-a online=true,buffer_depth=3 {now_ms - 60_000}",
        f"gateway_health,gateway=gw-b online=true,buffer_depth=4 {now_ms - 60_000}",
        f"gateway_health,gateway=gw-old online=false,buffer_depth=5 {now_ms - 40 * 86_400_000}",
        f"gateway_health,gateway=gw'x online=true,buffer_depth=6 {now_ms - 60_000}"]))
    asked = ["gw-a", "gw-old", quoted, "gw-none"]  # not gw-b
    health = read_last_health(stack.influx, stack.database, asked, within_days=30)
    assert health == {"gw-a": {"online": True, "buffer_depth": 3},
                      quoted: {"online": True, "buffer_depth": 6}}
    assert read_last_health(stack.influx, stack.database, [], within_days=30) == {}
    # The fixture's heartbeat (DAY) is outside the API's default window.
    [gateway] = stack.get("/v1/gateways", province=PROVINCE).json()
    assert gateway["gateway"] == "gw-dt-1" and gateway["health"] == {}


def _queries(stack: Stack) -> int:
    """InfluxDB's count of /query requests so far (this one included)."""
    [series] = stack.influx.query(None, "SHOW STATS FOR 'httpd'")
    return int(series.rows[0]["queryReq"])


def test_open_data_is_one_cached_query_per_province_and_month(stack: Stack) -> None:
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        for station in ("aq-2", "aq-3"):
            s.add(Device(id=station, profile="air_quality", sector=Sector.ENVIRONMENT,
                         expected_interval_s=600, installed_on=PLACED.date()))
            s.flush()
            place(s, SubjectKind.DEVICE, station, at=PLACED, ward_code=stack.wards[2], gateway_id="gw-dt-1")
    first = _queries(stack)
    idle = _queries(stack) - first  # the count's own query
    answer = stack.get(OPEN_DATA, who=None, month=MONTH)
    asked = _queries(stack) - first - 2 * idle
    assert answer.status_code == 200 and asked == 1, f"{asked} queries for three stations"
    rows = answer.json()["rows"]
    assert {r["station"] for r in rows} == {"aq-1"} and rows[0]["pm2_5"] > 0
    before_csv = _queries(stack)
    csv = stack.get(OPEN_DATA, who=None, month=MONTH, format="csv")
    assert _queries(stack) - before_csv == idle  # the CSV came from the cached computation
    lines = csv.text.splitlines()
    assert lines[0].startswith("station,commune,date,") and "pm2_5" in lines[0].split(",")
    assert len(lines) == 1 + len(rows)


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "0000-01", "1999-12", "2101-01", "2026-3",
                                   "2026-03\n"])
def test_a_month_outside_the_plans_is_422_naming_month(stack: Stack, month: str) -> None:
    answer = stack.get(OPEN_DATA, who=None, month=month)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", "month"]


def test_indicator_unit_and_dates_are_validated(stack: Stack) -> None:
    path = "/v1/indicators/active_iot_devices/values"
    for params, name in [({"unit": "82\nDROP"}, "unit"), ({"unit": "a b"}, "unit"),
                         ({"from": "0142-07-08"}, "from"), ({"to": "9999-12-31"}, "to")]:
        answer = stack.get(path, province=PROVINCE, **params)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", name], params
    assert stack.get(path, province=PROVINCE, unit=str(PROVINCE)).status_code == 200
    coverage = stack.get(f"/v1/provinces/{PROVINCE}/coverage", date="0500-06-23")
    assert coverage.status_code == 422 and coverage.json()["detail"][0]["loc"] == ["query", "date"]



def test_a_rate_limit_the_limiter_cannot_read_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "api.toml"
    path.write_text('version = 1\nrate_limit = "lots"\n')
    with pytest.raises(ConfigError, match=r"api.toml: line 2, rate_limit: .*not a rate limit: 'lots'"):
        load_api_config(path)
    path.write_text('version = 1\nrate_limit = "0"\nopen_data_rate_limit = "5/second;100/hour"\n')
    cfg = load_api_config(path)
    assert (cfg.rate_limit, cfg.open_data_rate_limit) == ("", "5/second;100/hour")
