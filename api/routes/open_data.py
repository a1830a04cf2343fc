"""``/v1/open``: open environmental data and its data dictionary. No token."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from iotgw.api import views
from iotgw.api.access import check_province
from iotgw.api.deps import InfluxDep, SessionDep, SettingsDep
from iotgw.api.schemas import DataDictionaryPublic, EnvironmentPublic, QuantityPublic, Scalar
from iotgw.devices import QUANTITIES
from iotgw.registry import devices_in_province
from iotgw.rollup.periods import VIETNAM, Period

router = APIRouter(prefix="/v1/open", tags=["open data"])

ENVIRONMENT_PROFILES = ("air_quality", "water_quality", "soil_quality")
CSV = "text/csv; charset=utf-8"


@router.get("/provinces/{province}/environment", response_model=EnvironmentPublic, responses={
    200: {"description": "JSON (format=json) or CSV (format=csv).",
          "content": {CSV: {"schema": {"type": "string"}}}}})
def read_environment(province: int, session: SessionDep, settings: SettingsDep, influx: InfluxDep,
                     month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")],
                     format: Literal["json", "csv"] = "json") -> Response:
    """Open data: daily means of the province's environmental monitoring stations.

    Returns a ``Response`` because the body is JSON or CSV by ``format``; the JSON one is
    an ``EnvironmentPublic``."""
    check_province(province)
    period = Period.containing("month", dt.date.fromisoformat(f"{month}-01"))
    rows: list[dict[str, Scalar]] = []
    for device, place in devices_in_province(session, province, profiles=ENVIRONMENT_PROFILES):
        for row in views.readings(influx, settings.influx.database, device.id, period.start_ms,
                                  period.end_ms, "day"):
            day = dt.datetime.fromtimestamp(int(row.pop("time")) / 1000, VIETNAM).date().isoformat()
            rows.append({"station": device.id, "commune": place.ward_code, "date": day,
                         **{k.removesuffix("_mean"): round(v, 3) for k, v in row.items()
                            if k.endswith("_mean") and isinstance(v, float | int)}})
    if format == "json":
        dictionary = {"station": "mã trạm / station id", "commune": "mã xã, phường / commune code",
                      "date": "ngày (giờ Việt Nam) / day, Vietnam time",
                      **{q.name: f"{q.label_vi} / {q.label_en}, trung bình ngày / daily mean ({q.unit})"
                         for q in QUANTITIES.values()}}
        body = EnvironmentPublic(province=province, month=month, licence="open data",
                                 data_dictionary=dictionary, rows=rows)
        return Response(json.dumps(body.model_dump(mode="json"), ensure_ascii=False),
                        media_type="application/json")
    columns = ["station", "commune", "date", *sorted({k for r in rows for k in r} - {
        "station", "commune", "date"})]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return Response(out.getvalue(), media_type=CSV)


@router.get("/data-dictionary")
def read_data_dictionary() -> DataDictionaryPublic:
    """Every quantity: unit, Vietnamese and English label, kind and plausible range."""
    return DataDictionaryPublic({q.name: QuantityPublic(unit=q.unit, vi=q.label_vi, en=q.label_en,
                                                        kind=q.kind.value, range=[q.minimum, q.maximum])
                                 for q in QUANTITIES.values()})
