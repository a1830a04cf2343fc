"""Filing and comparing past a token's scope (issue 21): a province's token filing another
province's report, or refiling its own to replace what was sent, and a province's token
asking for every province's figures. Each is refused and changes nothing."""

from __future__ import annotations

import pytest

from tests.api import conftest as api
from tests.api.conftest import PROVINCE, Stack
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]
stack = api.stack  # the API's fixture: a province's registry behind the real app

ELSEWHERE = 75  # Đồng Nai: the dong_nai token's province


def _post(stack: Stack, path: str, who: str):
    return stack.client.post(path, headers={"Authorization": f"Bearer {stack.tokens[who]}"})


def test_a_province_token_files_no_other_province_s_report(stack: Stack) -> None:
    response = _post(stack, f"/v1/provinces/{PROVINCE}/reports/2026/H1/filing", "dong_nai")
    listing = stack.get(f"/v1/provinces/{PROVINCE}/reports", year=2026).json()["reports"]
    ledger.refused("province 75's token files province 82's H1 report",
                   ok=response.status_code == 403 and all(r["status"] != "filed" for r in listing),
                   verdict=f"{response.status_code}: {response.json()['detail']}")


def test_a_filed_report_is_not_replaced_by_filing_it_again(stack: Stack) -> None:
    path = f"/v1/provinces/{PROVINCE}/reports/2026/year"
    first = _post(stack, f"{path}/filing", "dong_thap").json()
    again = _post(stack, f"{path}/filing", "operator")
    kept = stack.get(f"{path}.csv").headers.get("X-Report-SHA256")
    ledger.refused("a filed annual report filed again (to replace what was sent)",
                   ok=again.status_code == 409 and kept == first["csv_sha256"],
                   verdict=f"{again.status_code}, the filed bytes kept (sha256 {kept and kept[:12]})")


def test_a_province_token_reads_no_national_comparison(stack: Stack) -> None:
    response = stack.get("/v1/indicators/farms_with_field_sensors/provinces", who="dong_thap")
    ledger.refused("province 82's token asks for every province's figures",
                   ok=response.status_code == 403,
                   verdict=f"{response.status_code}: {response.json()['detail']}")
