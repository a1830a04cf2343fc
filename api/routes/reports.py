"""``/v1/provinces/{province}/reports``: the 6-monthly and annual indicator reports, as CSV
or XLSX downloads, their filing, and what a province owes (due, filed, late).

A report not filed is a draft, computed again at every download. Filing computes it once
more and freezes it: its CSV and XLSX bytes and their SHA-256 go to the registry, and every
later download returns those bytes (``X-Report-Filed``, ``X-Report-SHA256``), whatever a
backfill or late data change since. A filed report goes to the People's Committee and the
Ministry, so it is computed under the privacy rule of a reader who does not see households
(``iotgw.api.privacy``), whoever files it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from iotgw.api import views
from iotgw.api.access import administered, check_province, readable_province
from iotgw.api.deps import CatalogueDep, CurrentPrincipal, InfluxDep, SessionDep, SettingsDep
from iotgw.api.privacy import Rule
from iotgw.api.report_schedule import PARTS, Part, due
from iotgw.api.reports import ReportHeader, as_csv, as_xlsx, report_rows
from iotgw.api.schemas import FiledReportPublic, IndicatorValuePublic, ReportDuePublic, ReportsDuePublic
from iotgw.registry import get_province
from iotgw.registry.filed_reports import AlreadyFiled, file_report, filed_report, filed_reports
from iotgw.registry.models import FiledReport
from iotgw.rollup.periods import VIETNAM
from sqlalchemy.orm import Session

router = APIRouter(prefix="/v1/provinces", tags=["reports"])

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FILE = {"schema": {"type": "string", "format": "binary"}}
ReportPart = Literal["H1.csv", "H2.csv", "year.csv", "H1.xlsx", "H2.xlsx", "year.xlsx"]


def clock() -> dt.datetime:
    """Now; a dependency, so that a test of deadlines can fix the time."""
    return dt.datetime.now(dt.UTC)


Now = Annotated[dt.datetime, Depends(clock)]


def _check_year(year: int) -> None:
    if not 2020 <= year <= 2100:
        raise HTTPException(422, f"year {year} is outside 2020-2100")


def _files(session: Session, influx: InfluxDep, settings: SettingsDep, catalogue: CatalogueDep,
           header: ReportHeader, rule: Rule) -> tuple[bytes, bytes]:
    """The report's CSV and XLSX. A figure over too few households for ``rule`` is left
    blank, as the API suppresses it."""
    kind, start = header.due.period.kind, header.due.period.start
    values: dict[str, IndicatorValuePublic] = {}
    for ind in catalogue.indicators:
        found = views.indicator_values(influx, settings.influx.database, session, ind,
                                       province=header.province, period=kind, level="province",
                                       first=start, last=start, rule=rule, unit=str(header.province))
        if found and not found[0].suppressed:
            values[ind.id] = found[0]
    rows = report_rows(catalogue, values, header.due.period.label)
    return as_csv(rows, catalogue, header), as_xlsx(rows, catalogue, header)


def _download(content: bytes, fmt: str, filename: str, filed: FiledReport | None) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if filed is not None:
        digest = filed.csv_sha256 if fmt == "csv" else filed.xlsx_sha256
        headers |= {"X-Report-Filed": filed.filed_at.isoformat(), "X-Report-SHA256": digest,
                    "ETag": f'"{digest}"'}
    return Response(content, media_type=CSV if fmt == "csv" else XLSX, headers=headers)


@router.get("/{province}/reports/{year}/{part}", response_class=Response, responses={
    200: {"description": "The report as a file: CSV (UTF-8 with BOM) or XLSX, by the part's extension. "
                         "A filed report's bytes are those filed (headers X-Report-Filed, X-Report-SHA256).",
          "content": {CSV: _FILE, XLSX: _FILE}}})
def read_report(province: int, year: int, part: ReportPart, who: CurrentPrincipal, session: SessionDep,
                settings: SettingsDep, influx: InfluxDep, catalogue: CatalogueDep, now: Now) -> Response:
    """The 6-monthly or annual report of a province's indicators: as filed, or else a draft
    computed now, whose header rows say its as-of time and whether the period is over."""
    readable_province(who, province)
    _check_year(year)
    name, fmt = part.split(".")
    filename = f"iotgw-{province}-{year}-{name}.{fmt}"
    filed = filed_report(session, province=province, year=year, part=name)
    if filed is not None:
        return _download(filed.csv if fmt == "csv" else filed.xlsx, fmt, filename, filed)
    header = _header(session, province, year, cast(Part, name), now)
    csv, xlsx = _files(session, influx, settings, catalogue, header,
                       Rule.of(who, province, settings.suppress_below))
    return _download(csv if fmt == "csv" else xlsx, fmt, filename, None)


def _header(session: Session, province: int, year: int, part: Part, as_of: dt.datetime,
            filed_by: str | None = None) -> ReportHeader:
    name = get_province(session, province).name
    return ReportHeader(province, name, due(name, year, part), as_of, filed_by)


def _filed_public(filed: FiledReport) -> FiledReportPublic:
    owed = due("", filed.year, cast(Part, filed.part))
    return FiledReportPublic(
        province=filed.province_code, year=filed.year, part=owed.part, period=owed.period.label,
        as_of=filed.as_of, complete=filed.as_of >= _midnight(owed.period.end),
        filed_at=filed.filed_at, filed_by=filed.filed_by, csv_sha256=filed.csv_sha256,
        xlsx_sha256=filed.xlsx_sha256, deadline=owed.deadline, on_time=filed.filed_at < owed.deadline_at)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), VIETNAM)


@router.post("/{province}/reports/{year}/{part}/filing", status_code=201, responses={
    409: {"description": "The report was filed before: a filed report is never replaced."}})
def file_province_report(province: int, year: int, part: Part, who: CurrentPrincipal, session: SessionDep,
                         settings: SettingsDep, influx: InfluxDep, catalogue: CatalogueDep,
                         now: Now) -> FiledReportPublic:
    """File the report (the province's own token, or an operator's): computed now, its CSV
    and XLSX are stored with their SHA-256 and returned as they are at every later download.
    It is computed as its recipients may see it: household figures over too few households
    are blank, whoever files it."""
    check_province(province)
    administered(who, province)
    _check_year(year)
    if (earlier := filed_report(session, province=province, year=year, part=part)) is not None:
        raise HTTPException(409, str(AlreadyFiled(earlier)))
    header = _header(session, province, year, part, now, filed_by=f"{who.token_id} ({who.role.value})")
    csv, xlsx = _files(session, influx, settings, catalogue, header,
                       Rule(sees_households=False, suppress_below=settings.suppress_below))
    try:
        filed = file_report(session, province=province, year=year, part=part, as_of=now,
                            csv=csv, xlsx=xlsx, filed_by=who.token_id, at=now)
    except AlreadyFiled as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    return _filed_public(filed)


@router.get("/{province}/reports")
def read_reports_due(province: int, who: CurrentPrincipal, session: SessionDep, now: Now,
                     year: Annotated[list[int] | None, Query(
                         description="Years to list (2020-2100); default this year and the last.")] = None,
                     ) -> ReportsDuePublic:
    """What the province owes: each 6-monthly report (to the Department of Science and
    Technology) and the annual one (to the People's Committee and the Ministry, before
    15 December), ``due``, ``filed`` or ``late``, with its deadline."""
    readable_province(who, province)
    this_year = now.astimezone(VIETNAM).year
    years = sorted(set(year or [this_year - 1, this_year]))
    for y in years:
        _check_year(y)
    name = get_province(session, province).name
    filed = {(f.year, f.part): f for f in filed_reports(session, province, years)}
    reports = []
    for y in years:
        for part in PARTS:
            owed, done = due(name, y, part), filed.get((y, part))
            status = "filed" if done else ("late" if now >= owed.deadline_at else "due")
            reports.append(ReportDuePublic(
                year=y, part=part, period=owed.period.label, sender=owed.sender, recipient=owed.recipient,
                deadline=owed.deadline, deadline_rule=owed.deadline_rule, plan_lines=list(owed.plan_lines),
                status=status, filed_at=done.filed_at if done else None,
                on_time=done.filed_at < owed.deadline_at if done else None,
                csv_sha256=done.csv_sha256 if done else None))
    return ReportsDuePublic(province=province, as_of=now, reports=reports)
