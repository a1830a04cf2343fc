"""Hostile CSV of declarations and aggregates that the importer once let through to the
database or to an unhandled exception (each a 500 behind the API, a traceback in the CLI),
now an ``ImportFailed`` naming the line and the field; and two spreadsheet habits (a byte
order mark, old Mac line endings) that are now read. The property-based sweep is
tests/faults/test_hostile_field_inputs.py; these are its findings, one case each."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from iotgw.registry import AggregateCount, Declaration, ImportFailed, OrgType, Sector, seed_admin_units
from iotgw.registry.csv_import import import_csv
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import registry_setup as reg

PROVINCE = 82
PLACED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DECLARATIONS = "organisation_id,subject,declared_on,holds,source\n"
AGGREGATES = "measure,level,unit_code,year,numerator,denominator,source\n"
SUCCESSIONS = "retired_code,retired_name,successor_code,effective\n"


@pytest.fixture
def registry(session: Session) -> Session:
    seed_admin_units(session)
    [ward] = reg.wards_of(session, PROVINCE, 1, current=True)
    reg.add_organisation(session, "sme-1", OrgType.SME, Sector.INDUSTRY, ward=ward, at=PLACED)
    session.commit()
    return session


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(("kind", "text", "want"), [
    # A row of more cells than the header: DictReader keyed the rest None (TypeError).
    ("declarations", DECLARATIONS + "sme-1,mes,2026-01-05,true,Cục Thuế,=1+1\n",
     "line 2: 6 cells, but the header has 5 columns"),
    # A column twice: the last cell won, silently.
    ("aggregates", "measure,level,unit_code,year,numerator,denominator,source,numerator\n"
                   f"e_invoice,province,{PROVINCE},2026,400,400,Cục Thuế,1\n",
     "line 1: columns must include"),
    # A cell longer than the csv module reads: csv.Error.
    ("declarations", DECLARATIONS + "sme-1,mes,2026-01-05,true,Cục Thuế\n"
                     f"sme-1,e_invoice,2026-01-05,true,{'x' * 200_000}\n", "line 3: not CSV: field larger"),
    # Counts past PostgreSQL's INTEGER (NumericValueOutOfRange) or any (SQLite's OverflowError).
    ("aggregates", AGGREGATES + f"e_invoice,province,{PROVINCE},2026,{2**31},{2**31},Cục Thuế\n",
     "line 2: numerator: Input should be less than or equal to 2147483647"),
    ("aggregates", AGGREGATES + f"e_invoice,province,{PROVINCE},2026,1,{10**30},Cục Thuế\n",
     "line 2: denominator: Input should be less than or equal to 2147483647"),
    # A NUL in text: PostgreSQL refuses it at the write; an escape sequence for a terminal.
    ("declarations", DECLARATIONS + "sme-1,mes,2026-01-05,true,Cục\x00Thuế\n",
     "line 2: source: Value error, control characters U+0000 are not allowed"),
    ("declarations", DECLARATIONS + "sme-1,mes,2026-01-05,true,\x1b[2J\x1b[31mCục Thuế\n",
     "line 2: source: Value error, control characters U+001B are not allowed"),
    # A former province that never was: stored, and counted for nothing.
    ("aggregates", AGGREGATES + "ocop_traceable,former_province,999,2025,7,20,Cổng truy xuất\n",
     "line 2: unit_code: no former province 999"),
    # Dates of year 1 and 9999.
    ("declarations", DECLARATIONS + "sme-1,mes,9999-12-31,true,Cục Thuế\n",
     "line 2: declared_on: Input should be less than or equal to 2100-12-31"),
    ("declarations", DECLARATIONS + "sme-1,mes,0001-01-01,true,Cục Thuế\n",
     "line 2: declared_on: Input should be greater than or equal to 2000-01-01"),
], ids=["extra-cell", "column-twice", "200k-cell", "int32", "1e30", "nul", "escape", "former-999",
        "year-9999", "year-1"])
def test_a_hostile_cell_is_refused_naming_line_and_field(registry: Session, kind: str, text: str,
                                                         want: str) -> None:
    with pytest.raises(ImportFailed) as refused:
        import_csv(registry, kind, io.StringIO(text, newline=""), source=f"{kind}.csv")
    assert f"{kind}.csv: {want}" in str(refused.value)
    assert _count(registry, Declaration) == _count(registry, AggregateCount) == 0


def test_a_retired_code_past_any_integer_column_is_refused(registry: Session) -> None:
    """Unbounded, it passed validation and add_succession failed at the flush (SQLite's
    OverflowError, PostgreSQL's DataError): a 500 on the operator's import route."""
    [successor] = reg.wards_of(registry, PROVINCE, 1, current=True)
    text = SUCCESSIONS + f"{10**20},Xã Cũ,{successor},2026-01-01\n"
    with pytest.raises(ImportFailed) as refused:
        import_csv(registry, "successions", io.StringIO(text, newline=""), source="successions.csv")
    assert "successions.csv: line 2: retired_code: Input should be less than or equal to 2147483647" in str(
        refused.value)


def test_a_byte_order_mark_and_mixed_line_endings_are_read(registry: Session) -> None:
    text = ("\ufeff" + AGGREGATES.rstrip("\n") + "\r" + f"e_invoice,province,{PROVINCE},2025,1,2,Cục Thuế\r\n"
            f"e_invoice,province,{PROVINCE},2026,3,4,Cục Thuế\n")
    assert import_csv(registry, "aggregates", io.StringIO(text, newline=""), source="a.csv") == 2
    assert _count(registry, AggregateCount) == 2
