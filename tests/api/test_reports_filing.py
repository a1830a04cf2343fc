"""Reports that can be filed: header rows, filing freezes the bytes across a recomputation,
refiling is 409, and the due/filed/late listing under a fixed clock."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from iotgw.api.reports import report_rows
from iotgw.api.routes.reports import clock
from iotgw.api.schemas import IndicatorValuePublic, TargetProgress
from iotgw.registry import OrgType, Sector, make_engine, session_factory
from iotgw.rollup.catalogue import load_catalogue
from iotgw.rollup.periods import VIETNAM
from openpyxl import load_workbook

from tests import registry_setup as reg
from tests.api.conftest import PROVINCE, Stack, report_late, roll_up_again

pytestmark = pytest.mark.integration

H1 = f"/v1/provinces/{PROVINCE}/reports/2026/H1"
FIGURE = "farms_with_field_sensors"


def _fix_clock(stack: Stack, at: dt.datetime) -> None:
    stack.client.app.dependency_overrides[clock] = lambda: at  # type: ignore[attr-defined]


def _post(stack: Stack, path: str, who: str):
    return stack.client.post(path, headers={"Authorization": f"Bearer {stack.tokens[who]}"})


def _figure(content: bytes, indicator: str) -> str:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return next(row for row in rows if row and row[0] == indicator)[3]


def _header(content: bytes) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return {row[0]: row[1] for row in rows[1:rows.index([])]}


def _soil_2_reports(stack: Stack) -> None:
    """soil-2 (farm-2's probe, silent so far) sends the day's readings late; rolled up again."""
    report_late(stack, "device=soil-2,gateway=gw-dt-1", "soil_moisture=40.0")


def test_a_draft_report_says_its_period_as_of_time_area_plans_sender_and_deadline(stack: Stack) -> None:
    _fix_clock(stack, dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC))
    header = _header(stack.get(f"/v1/provinces/{PROVINCE}/reports/2026/year.csv").content)
    assert header["Kỳ báo cáo"] == "2026 (2026-01-01 đến 2026-12-31)"
    assert header["Số liệu tính đến"] == "2026-11-20T10:00:00+07:00"
    assert header["Kỳ đã kết thúc"].startswith("chưa")  # November: a partial year, and it says so
    assert "Đồng Tháp (mã 82)" in header["Địa bàn"]
    assert "dòng 284" in header["Căn cứ kế hoạch"] and "dòng 473" in header["Căn cứ kế hoạch"]
    assert header["Đơn vị gửi"].startswith("Sở Khoa học và Công nghệ")
    assert "Bộ Khoa học và Công nghệ" in header["Nơi nhận"]
    assert header["Hạn nộp"].startswith("2026-12-15")
    assert header["Trạng thái"].startswith("bản nháp")
    half = _header(stack.get(f"{H1}.csv").content)
    assert half["Kỳ đã kết thúc"] == "có" and "dòng 325" in half["Căn cứ kế hoạch"]
    sheet = load_workbook(io.BytesIO(stack.get(f"{H1}.xlsx").content))["Chỉ tiêu"]
    cells = {row[0]: row[1] for row in sheet.iter_rows(max_row=12, values_only=True)}
    assert cells["Hạn nộp"].startswith("2026-06-15") and cells["Trạng thái"].startswith("bản nháp")


def test_a_filed_report_keeps_its_bytes_after_the_data_is_recomputed(stack: Stack) -> None:
    _fix_clock(stack, dt.datetime(2026, 7, 10, tzinfo=dt.UTC))
    filed = _post(stack, f"{H1}/filing", "dong_thap")
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["filed_by"] == "dong-thap" and body["complete"] and body["on_time"] is False
    first_csv, first_xlsx = stack.get(f"{H1}.csv"), stack.get(f"{H1}.xlsx")
    assert hashlib.sha256(first_csv.content).hexdigest() == body["csv_sha256"] == \
        first_csv.headers["X-Report-SHA256"]
    assert hashlib.sha256(first_xlsx.content).hexdigest() == body["xlsx_sha256"]
    assert _header(first_csv.content)["Trạng thái"].startswith("đã nộp")
    assert _figure(first_csv.content, FIGURE) == "33.33"  # farm-1 of farm-1, farm-2, coop-1

    _soil_2_reports(stack)
    draft = stack.get(f"/v1/provinces/{PROVINCE}/reports/2026/year.csv")  # not filed: recomputed
    assert _figure(draft.content, FIGURE) == "66.67"
    assert stack.get(f"{H1}.csv").content == first_csv.content
    assert stack.get(f"{H1}.xlsx").content == first_xlsx.content

    again = _post(stack, f"{H1}/filing", "operator")
    assert again.status_code == 409 and "filed at" in again.json()["detail"]
    assert stack.get(f"{H1}.csv").content == first_csv.content


def test_the_listing_shows_due_filed_and_late_reports_with_their_deadlines(stack: Stack) -> None:
    _fix_clock(stack, dt.datetime(2026, 6, 10, tzinfo=VIETNAM))
    assert _post(stack, f"{H1}/filing", "dong_thap").status_code == 201  # before 15 June
    _fix_clock(stack, dt.datetime(2026, 6, 20, tzinfo=VIETNAM))
    assert _post(stack, f"/v1/provinces/{PROVINCE}/reports/2025/year/filing", "operator").status_code == 201
    listing = stack.get(f"/v1/provinces/{PROVINCE}/reports", who="ministry").json()
    status = {(r["year"], r["part"]): (r["status"], r["deadline"], r["on_time"]) for r in listing["reports"]}
    assert status == {
        (2025, "H1"): ("late", "2025-06-15", None), (2025, "H2"): ("late", "2025-12-15", None),
        (2025, "year"): ("filed", "2025-12-15", False),
        (2026, "H1"): ("filed", "2026-06-15", True), (2026, "H2"): ("due", "2026-12-15", None),
        (2026, "year"): ("due", "2026-12-15", None)}
    annual = next(r for r in listing["reports"] if r["part"] == "year")
    assert "Bộ Khoa học và Công nghệ" in annual["recipient"]
    only = stack.get(f"/v1/provinces/{PROVINCE}/reports", who="dong_thap", year=2027).json()["reports"]
    assert [r["status"] for r in only] == ["due", "due", "due"]
    assert stack.get(f"/v1/provinces/{PROVINCE}/reports", who="dong_thap", year=1999).status_code == 422


def test_only_the_province_s_token_or_an_operator_files(stack: Stack) -> None:
    for who in ("ministry", "dong_nai"):
        assert _post(stack, f"{H1}/filing", who).status_code == 403
    assert _post(stack, f"/v1/provinces/{PROVINCE}/reports/2026/Q1/filing", "operator").status_code == 422
    assert _post(stack, "/v1/provinces/99/reports/2026/H1/filing", "operator").status_code == 404
    assert stack.get(f"{H1}.csv").headers.get("X-Report-Filed") is None


def _met_cell(stack: Stack, province: int, indicator: str) -> list[str]:
    """The target, its year and the "Đạt" cell of an indicator's row in the annual report."""
    content = stack.get(f"/v1/provinces/{province}/reports/2026/year.csv", who="operator").content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    return next(row for row in rows if row and row[0] == indicator)[8:11]


def test_before_a_target_s_year_the_report_shows_the_path_not_a_failure(stack: Stack) -> None:
    """Plan 000 (Đồng Nai) aims at 50% of farms declaring a production platform by 2030,
    from its 2025 baseline: in 2026 the report shows the straight path, never "chưa"."""
    _fix_clock(stack, dt.datetime(2026, 11, 20, tzinfo=VIETNAM))
    # In its year, a target is met or not: Đồng Tháp's SMEs, 0% for a 30% target in 2026.
    assert _met_cell(stack, PROVINCE, "smes_applying_digital_technology") == [">= 30", "2026", "chưa"]
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        [ward] = reg.wards_of(s, 75, 1, current=True)
        reg.add_organisation(s, "farm-dn", OrgType.FARM, Sector.AGRICULTURE, ward=ward,
                             at=dt.datetime(2025, 6, 1, tzinfo=VIETNAM))
    indicator = "farms_coops_using_platform"
    roll_up_again(stack)
    assert _met_cell(stack, 75, indicator) == [">= 50", "2030", "chưa đến năm mục tiêu"]  # no baseline yet

    roll_up_again(stack, dt.date(2025, 6, 1), dt.date(2025, 6, 1))  # the baseline: 0 of 1 in 2025
    # The path from 0 (end of 2025) to 50 (end of 2030) stands at 10 at the end of 2026.
    assert _met_cell(stack, 75, indicator) == [
        ">= 50", "2030", "chưa đến năm mục tiêu; chậm so với lộ trình (hiện 0, lộ trình 10)"]

    declared = stack.client.post("/v1/registry/declarations", headers={
        "Authorization": f"Bearer {stack.tokens['dong_nai']}"}, json={
        "organisation_id": "farm-dn", "subject": "digital_platform_production",
        "declared_on": "2026-02-01", "holds": True, "source": "Khảo sát Sở KH&CN"})
    assert declared.status_code == 200, declared.text
    roll_up_again(stack)
    assert _met_cell(stack, 75, indicator) == [
        ">= 50", "2030", "chưa đến năm mục tiêu; đúng lộ trình (hiện 100, lộ trình 10)"]


def test_in_the_target_s_year_without_the_plan_s_measure_the_report_says_so() -> None:
    """A value stored before its evidence mix was kept has no measure for the target."""
    target = TargetProgress(value=30, comparator=">=", year=2026, plan="002", line=56,
                            evidence=["declaration"], measured=None, met=None, gap=None,
                            baseline_year=2025, baseline=None, expected_on_path=None, on_path=None)
    value = IndicatorValuePublic(unit="82", period="2026", value=10, numerator=1, denominator=10,
                                 denominator_source="registered", target=target, change=None)
    [row] = [r for r in report_rows(load_catalogue(), {"smes_applying_digital_technology": value}, "2026")
             if r[0] == "smes_applying_digital_technology"]
    assert row[10] == "không đánh giá được: thiếu số liệu theo loại bằng chứng của mục tiêu"
