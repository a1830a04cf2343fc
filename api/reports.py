"""A province's 6-monthly (H1/H2) and annual indicator report, as CSV and XLSX, with
Vietnamese headings, the catalogue's definitions and each figure's source line.

Both are made to be opened in a spreadsheet, so neither may carry a formula, whatever text
the catalogue or the figures bring: CSV cells go through ``safe_cell`` (a quote in front),
and in the XLSX a text that looks like a formula is stored as text (openpyxl would store
``=...`` as one)."""

from __future__ import annotations

import csv
import io

from iotgw.api.schemas import IndicatorValuePublic
from iotgw.registry.spreadsheet_cells import formula_like, safe_cell
from iotgw.rollup.catalogue import Catalogue
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

# A report cell: what the CSV writer and openpyxl both take.
Cell = str | int | float | None

HEADINGS = ["Mã chỉ tiêu", "Tên chỉ tiêu", "Kỳ báo cáo", "Giá trị", "Đơn vị", "Tử số", "Mẫu số",
            "Nguồn mẫu số", "Mục tiêu", "Năm mục tiêu", "Đạt", "Căn cứ (tệp, dòng)"]
DEFINITION_HEADINGS = ["Khái niệm", "Định nghĩa"]


def report_rows(catalogue: Catalogue, values: dict[str, IndicatorValuePublic],
                label: str) -> list[list[Cell]]:
    """One row per indicator: its province-level value for the period (blank when none)."""
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
            None if target is None else ("có" if target.met else "chưa"),
            "; ".join(f"{s.seed} dòng {s.line}" for s in ind.sources),
        ])
    return rows


def as_csv(rows: list[list[Cell]], catalogue: Catalogue) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
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


def as_xlsx(rows: list[list[Cell]], catalogue: Catalogue, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Chỉ tiêu"
    _append_text(sheet, [title])
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
