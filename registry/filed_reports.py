"""Filed reports: a report's bytes as they were sent, frozen.

Filing is once per province, year and part: the primary key refuses a second filing,
even one racing the first, so what the recipient got cannot be replaced quietly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from iotgw.registry.errors import RegistryError
from iotgw.registry.models import FiledReport
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


class AlreadyFiled(RegistryError):
    """The report was filed before; a filed report is never replaced."""

    def __init__(self, filed: FiledReport) -> None:
        super().__init__(f"the {filed.part} report {filed.year} of province {filed.province_code} was "
                         f"filed at {filed.filed_at.isoformat()} by {filed.filed_by}")
        self.filed = filed


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def file_report(session: Session, *, province: int, year: int, part: str, as_of: dt.datetime,
                csv: bytes, xlsx: bytes, filed_by: str, at: dt.datetime) -> FiledReport:
    """Store the report's files as filed, in the caller's transaction (flushed here, so a
    second filing fails in this call; one that lost a race rolls that transaction back).

    Raises:
        AlreadyFiled: the report was filed before.
    """
    earlier = filed_report(session, province=province, year=year, part=part)
    if earlier is not None:
        raise AlreadyFiled(earlier)
    row = FiledReport(province_code=province, year=year, part=part, as_of=as_of, filed_at=at,
                      filed_by=filed_by, csv=csv, csv_sha256=sha256(csv), xlsx=xlsx,
                      xlsx_sha256=sha256(xlsx))
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # filed by another request since the check above
        session.rollback()
        found = filed_report(session, province=province, year=year, part=part)
        if found is None:
            raise
        raise AlreadyFiled(found) from None
    return row


def filed_report(session: Session, *, province: int, year: int, part: str) -> FiledReport | None:
    return session.get(FiledReport, (province, year, part))


def filed_reports(session: Session, province: int, years: Sequence[int]) -> list[FiledReport]:
    """The province's filed reports of those years, by year and part."""
    return list(session.scalars(select(FiledReport).where(
        FiledReport.province_code == province, FiledReport.year.in_(years)).order_by(
        FiledReport.year, FiledReport.part)))
