"""A province's 6-monthly (H1/H2) and annual indicator report, as CSV and XLSX, with
Vietnamese headings, the catalogue's definitions and each figure's source line.

Both open with the same header rows (``ReportHeader``): period, as-of time and whether the
period was complete then, area, the plan lines that ask for the report, sender, recipient,
deadline, and whether it is filed. A report of a period still running says so there: an
annual report filed before 15 December is a partial year, and reads as one.

Both are made to be opened in a spreadsheet, so neither may carry a formula, whatever text
the catalogue or the figures bring: CSV cells go through ``safe_cell`` (a quote in front),
and in the XLSX a text that looks like a formula is stored as text (openpyxl would store
``=...`` as one)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from iotgw.api.report_schedule import Due
from iotgw.api.schemas import IndicatorValuePublic, TargetProgress
from iotgw.registry.spreadsheet_cells import formula_like, safe_cell
from iotgw.rollup.catalogue import Catalogue
from iotgw.rollup.periods import VIETNAM
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

# A report cell: what the CSV writer and openpyxl both take.
Cell = str | int | float | None

HEADINGS = ["Mã chỉ tiêu", "Tên chỉ tiêu", "Kỳ báo cáo", "Giá trị", "Đơn vị", "Tử số", "Mẫu số",
            "Nguồn mẫu số", "Mục tiêu", "Năm mục tiêu", "Đạt", "Căn cứ (tệp, dòng)"]
DEFINITION_HEADINGS = ["Khái niệm", "Định nghĩa"]


@dataclass(frozen=True, slots=True)
class ReportHeader:
    """What a recipient needs to know about a report besides its figures."""

    province: int
    province_name: str
    due: Due
    as_of: dt.datetime
    filed_by: str | None = None  # None: a draft, computed again at every download

    @property
    def complete(self) -> bool:
        return self.as_of >= dt.datetime.combine(self.due.period.end, dt.time(), VIETNAM)

    @property
    def title(self) -> str:
        return f"Báo cáo chỉ tiêu, tỉnh/thành phố {self.province_name}, kỳ {self.due.period.label}"

    def rows(self) -> list[list[Cell]]:
        period, as_of = self.due.period, self.as_of.astimezone(VIETNAM)
        last_day = period.end - dt.timedelta(days=1)
        complete = "có" if self.complete else (
            f"chưa: kỳ chưa kết thúc, số liệu đến {as_of:%Y-%m-%d %H:%M} (giờ Việt Nam)")
        status = (f"đã nộp lúc {as_of:%Y-%m-%d %H:%M} (giờ Việt Nam), bởi {self.filed_by}; không thay đổi"
                  if self.filed_by else "bản nháp, chưa nộp: tính lại mỗi lần tải")
        return [
            ["Kỳ báo cáo", f"{period.label} ({period.start.isoformat()} đến {last_day.isoformat()})"],
            ["Số liệu tính đến", as_of.isoformat(timespec="seconds")],
            ["Kỳ đã kết thúc", complete],
            ["Địa bàn", f"tỉnh/thành phố {self.province_name} (mã {self.province}), "
                        "đơn vị hành chính từ 2025"],
            ["Căn cứ kế hoạch", "; ".join(self.due.plan_lines)],
            ["Đơn vị gửi", self.due.sender],
            ["Nơi nhận", self.due.recipient],
            ["Hạn nộp", f"{self.due.deadline.isoformat()}, {self.due.deadline_rule}"],
            ["Trạng thái", status],
        ]


def _met(target: TargetProgress, year: int) -> str:
    """The "Đạt" cell. A target is judged met or not only in its own year: before it, "chưa"
    (not met) would fail a province on a 2030 target in 2026, so the cell says where the
    figure stands against the straight path from the baseline to the target instead."""
    if target.met is not None:
        return "có" if target.met else "chưa"
    if year >= target.year:  # the target's year, but no figure in the plan's measure
        return "không đánh giá được: thiếu số liệu theo loại bằng chứng của mục tiêu"
    if target.on_path is None or target.measured is None or target.expected_on_path is None:
        return "chưa đến năm mục tiêu"  # no baseline value: no path to compare with
    where = "đúng lộ trình" if target.on_path else "chậm so với lộ trình"
    return (f"chưa đến năm mục tiêu; {where} (hiện {round(target.measured, 2):g},"
            f" lộ trình {round(target.expected_on_path, 2):g})")


def report_rows(catalogue: Catalogue, values: dict[str, IndicatorValuePublic],
                label: str) -> list[list[Cell]]:
    """One row per indicator: its province-level value for the period (blank when none)."""
    year = int(label[:4])
    rows = []
    for ind in catalogue.indicators:
        value = values.get(ind.id)
        target = value.target if value else None
        rows.append([
            ind.id, ind.name_vi, label,
            None if value is None else round(value.value, 2), ind.unit,
            None if value is None else value.numerator,
            None if value is None else value.denominator,
            None if value is None else value.denominator_source,
            None if target is None else f"{target.comparator} {target.value:g}",
            None if target is None else target.year,
            None if target is None else _met(target, year),
            "; ".join(f"{s.seed} dòng {s.line}" for s in ind.sources),
        ])
    return rows


def as_csv(rows: list[list[Cell]], catalogue: Catalogue, header: ReportHeader) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(header.title)])
    writer.writerows([safe_cell(cell) for cell in row] for row in header.rows())
    writer.writerow([])
    writer.writerow(HEADINGS)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    writer.writerow([])
    writer.writerow(DEFINITION_HEADINGS)
    writer.writerows([safe_cell(key), safe_cell(text)] for key, text in catalogue.definitions.items())
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel then reads UTF-8


def _append_text(sheet: Worksheet, row: list[Cell]) -> None:
    """Append ``row``; a text openpyxl would take for a formula stays text, marked as
    Excel marks a text typed with a leading quote (so editing it keeps it text)."""
    sheet.append(row)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str) and formula_like(cell.value):
            cell.data_type = "s"
            cell.quotePrefix = True


def as_xlsx(rows: list[list[Cell]], catalogue: Catalogue, header: ReportHeader) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Chỉ tiêu"
    _append_text(sheet, [header.title])
    for row in header.rows():
        _append_text(sheet, row)
    sheet.append([])
    sheet.append(HEADINGS)
    for row in rows:
        _append_text(sheet, row)
    definitions = book.create_sheet("Định nghĩa")
    definitions.append(DEFINITION_HEADINGS)
    for key, text in catalogue.definitions.items():
        _append_text(definitions, [key, " ".join(text.split())])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
