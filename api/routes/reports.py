"""``/v1/provinces/{province}/reports/{year}/{part}``: the 6-monthly and annual indicator
reports, as CSV or XLSX downloads."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response
from iotgw.api import views
from iotgw.api.access import readable_province
from iotgw.api.deps import CatalogueDep, CurrentPrincipal, InfluxDep, SessionDep, SettingsDep
from iotgw.api.privacy import Rule
from iotgw.api.reports import as_csv, as_xlsx, report_rows
from iotgw.api.schemas import IndicatorValuePublic
from iotgw.registry import get_province
from iotgw.rollup.periods import Period

router = APIRouter(prefix="/v1/provinces", tags=["reports"])

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FILE = {"schema": {"type": "string", "format": "binary"}}
ReportPart = Literal["H1.csv", "H2.csv", "year.csv", "H1.xlsx", "H2.xlsx", "year.xlsx"]


@router.get("/{province}/reports/{year}/{part}", response_class=Response, responses={
    200: {"description": "The report as a file: CSV (UTF-8 with BOM) or XLSX, by the part's extension.",
          "content": {CSV: _FILE, XLSX: _FILE}}})
def read_report(province: int, year: int, part: ReportPart, who: CurrentPrincipal, session: SessionDep,
                settings: SettingsDep, influx: InfluxDep, catalogue: CatalogueDep) -> Response:
    """The 6-monthly or annual report of a province's indicators. A figure over too few
    households for the token (``iotgw.api.privacy``) is left blank, as the API suppresses it."""
    readable_province(who, province)
    if not 2020 <= year <= 2100:
        raise HTTPException(422, f"year {year} is outside 2020-2100")
    name, fmt = part.split(".")
    kind = "year" if name == "year" else "half"
    start = dt.date(year, 7 if name == "H2" else 1, 1)
    period = Period(kind, start)
    rule = Rule.of(who, province, settings.suppress_below)
    values: dict[str, IndicatorValuePublic] = {}
    for ind in catalogue.indicators:
        found = views.indicator_values(influx, settings.influx.database, session, ind, province=province,
                                       period=kind, level="province", first=start, last=start,
                                       rule=rule, unit=str(province))
        if found and not found[0].suppressed:
            values[ind.id] = found[0]
    rows = report_rows(catalogue, values, period.label)
    title = f"Báo cáo chỉ tiêu, tỉnh/thành phố {get_province(session, province).name}, kỳ {period.label}"
    filename = f"iotgw-{province}-{period.label}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(as_csv(rows, catalogue), media_type=CSV, headers=headers)
    return Response(as_xlsx(rows, catalogue, title), media_type=XLSX, headers=headers)
