"""``/v1/open``: open environmental data and its data dictionary. No token."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from iotgw.api.access import check_province
from iotgw.api.deps import InfluxDep, SessionsDep, SettingsDep, ViewsDep
from iotgw.api.open_environment import LICENCE, LICENCE_URL, station_days
from iotgw.api.schemas import DataDictionaryPublic, EnvironmentPublic, QuantityPublic
from iotgw.devices import QUANTITIES
from iotgw.registry.open_stations import open_station_placements
from iotgw.registry.spreadsheet_cells import safe_cell
from iotgw.rollup.periods import Period
from iotgw.rollup.store import read_devices_aggregates

router = APIRouter(prefix="/v1/open", tags=["open data"])

ENVIRONMENT_PROFILES = ("air_quality", "water_quality", "soil_quality")
CSV = "text/csv; charset=utf-8"
# A month of the years 2000 to 2100: "2026-13" or "0000-01" is 422 naming ``month``.
MONTH = r"^(20\d\d|2100)-(0[1-9]|1[0-2])$"


@router.get("/provinces/{province}/environment", response_model=EnvironmentPublic, responses={
    200: {"description": "JSON (format=json) or CSV (format=csv).",
          "content": {CSV: {"schema": {"type": "string"}}}}})
async def read_environment(province: int, sessions: SessionsDep, settings: SettingsDep,
                           influx: InfluxDep, cache: ViewsDep,
                           month: Annotated[str, Query(pattern=MONTH, examples=["2026-03"])],
                           format: Literal["json", "csv"] = "json") -> Response:
    """Open data (licence CC BY 4.0): daily means of the province's public environmental
    monitoring stations (a private one only when its owner opted in), one month (years 2000
    to 2100) per request, each station-day only when its readings filled at least
    ``min_availability`` of the expected intervals (``api.open_environment``).

    Returns a ``Response`` because the body is JSON or CSV by ``format``; the JSON one is
    an ``EnvironmentPublic``. Both are built from one cached computation: this route needs
    no token, so an uncached query per request was anyone's to multiply."""
    check_province(province)
    period = Period.containing("month", dt.date.fromisoformat(f"{month}-01"))
    database = settings.influx.database

    def compute() -> EnvironmentPublic:
        with sessions() as session:
            placements = open_station_placements(session, province, profiles=ENVIRONMENT_PROFILES,
                                                 start=_utc(period.start_ms), end=_utc(period.end_ms))
        daily = read_devices_aggregates(influx, database, {p.device_id for p in placements},
                                        resolution="day", start_ms=period.start_ms, end_ms=period.end_ms)
        threshold = settings.open_data_min_availability
        dictionary = {"station": "mã trạm / station id",
                      "commune": "mã xã, phường nơi đặt trạm trong ngày / the station's commune that day",
                      "date": "ngày (giờ Việt Nam) / day, Vietnam time",
                      "availability": "tỷ lệ khoảng đo có số liệu / expected intervals with data (%)",
                      **{q.name: f"{q.label_vi} / {q.label_en}, trung bình ngày / daily mean ({q.unit})"
                         for q in QUANTITIES.values()}}
        return EnvironmentPublic(
            province=province, month=month, licence=LICENCE, licence_url=LICENCE_URL,
            attribution=f"iotgw, tỉnh/thành phố mã {province}", min_availability=threshold,
            data_dictionary=dictionary, rows=station_days(placements, daily, threshold))

    response = await cache.response(("open-environment", province, month), compute)
    if format == "json":
        return response
    rows = json.loads(response.body)["rows"]
    columns = ["station", "commune", "date", *sorted({k for r in rows for k in r} - {
        "station", "commune", "date"})]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)  # no formulas
    return Response(out.getvalue(), media_type=CSV)


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


@router.get("/data-dictionary")
def read_data_dictionary() -> DataDictionaryPublic:
    """Every quantity: unit, Vietnamese and English label, kind and plausible range."""
    return DataDictionaryPublic({q.name: QuantityPublic(unit=q.unit, vi=q.label_vi, en=q.label_en,
                                                        kind=q.kind.value, range=[q.minimum, q.maximum])
                                 for q in QUANTITIES.values()})
