"""The FastAPI application: ``/v1`` endpoints, ``/healthz`` and the dashboard at ``/``.

Roles (tokens in the registry, see ``api.auth``): ``ministry`` reads every province,
``province`` reads its own, ``operator`` administers the registry. Every authenticated
request is counted as platform use of the token's organisation. Open environmental data
needs no token.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import cachetools
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import views
from api.auth import Authenticator, Principal
from api.config import ApiConfig
from api.reports import as_csv, as_xlsx, report_rows
from api.usage import UsageLog
from devices import QUANTITIES
from registry import (
    PROVINCE_CODES,
    ApiRole,
    Device,
    Organisation,
    OrgType,
    OutsideProvince,
    Placement,
    Province,
    RegistryError,
    SubjectKind,
    Ward,
    make_engine,
    session_factory,
)
from registry.csv_export import records as registry_records
from registry.csv_import import import_csv, import_rows
from rollup.catalogue import Catalogue, load_catalogue
from rollup.periods import VIETNAM, Period
from tsdb import TsdbError
from tsdb.schema import create_storage

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
ENVIRONMENT_PROFILES = ("air_quality", "water_quality", "soil_quality")
MAX_CSV_BYTES = 5_000_000
RegistryKind = Literal["organisations", "gateways", "devices", "reference_counts"]


def _json_rows(text: str) -> list[tuple[int, dict[str, object]]]:
    """Rows of a JSON body, numbered from 1 as the error messages number them."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"not JSON: {exc}") from None
    rows = body if isinstance(body, list) else [body]
    if not rows or not all(isinstance(row, dict) for row in rows):
        raise HTTPException(422, "expected a row (an object) or a list of rows")
    return list(enumerate(rows, start=1))

Level = Literal["province", "commune", "sector", "organisation_type", "gateway", "device"]
PeriodQuery = Literal["day", "month", "half", "year"]


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


async def _principal(request: Request) -> Principal:
    who = await request.app.state.authenticator(request)
    request.app.state.usage.record(who.organisation, who.token_id)
    return who


# Module-level, so that FastAPI can resolve them from the (postponed) annotations.
Who = Annotated[Principal, Depends(_principal)]
# Closed when the endpoint returns, before its response is validated in another trip
# through the thread pool; authentication has its own short session (``Authenticator``).
# A registry connection held from authentication to the response, across trips through
# the thread pool, let 50 clients hold all 15 pooled connections while every pool thread
# waited for one (30 s pool time-outs and nothing answered; bench/api_latency.py).
Db = Annotated[Session, Depends(_session, scope="function")]


def create_app(cfg: ApiConfig, catalogue: Catalogue | None = None) -> FastAPI:
    influx = cfg.influx.client()
    sessions = session_factory(make_engine(cfg.registry_url))
    catalogue = catalogue or load_catalogue()
    usage = UsageLog(influx, cfg.influx.database, cfg.usage_flush_s)
    db = cfg.influx.database
    cache: cachetools.TTLCache[tuple[Any, ...], bytes] = cachetools.TTLCache(
        maxsize=4096, ttl=cfg.cache_s or 1e-9)
    computing = threading.Condition()

    # A view is computed at most once per ``cache_s``, and kept as its JSON: requests for a
    # view being computed wait for it (the condition) rather than compute it too (50 clients
    # asking for an uncached coverage at once computed 50 copies), and a cached one is
    # answered on the event loop without a trip through the thread pool or serialising it
    # again (bench/api_latency.py).
    @cachetools.cached(cache, key=lambda key, _compute: key, condition=computing)
    def computed(key: tuple[Any, ...], compute: Callable[[], Any]) -> bytes:
        return json.dumps(jsonable_encoder(compute()), ensure_ascii=False).encode()

    async def cached(key: tuple[Any, ...], compute: Callable[[], Any]) -> Response:
        with computing:
            body = cache.get(key)
        if body is None:
            body = await run_in_threadpool(computed, key, compute)
        return Response(body, media_type="application/json")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Iterator[None]:
        try:  # before the first rollup, indicator queries would fail on a missing policy
            create_storage(influx, db, raw_retention=cfg.influx.raw_retention)
        except TsdbError as exc:
            log.warning("InfluxDB not ready at start (%s): queries fail until it is", exc)
        usage.start()
        yield
        usage.stop()
        influx.close()

    app = FastAPI(title="iotgw API", version="1", lifespan=lifespan,
                  description="Coverage, indicators against the provincial plans' targets, "
                              "reports and registry administration.")
    app.state.sessions, app.state.usage = sessions, usage
    app.state.authenticator = Authenticator(sessions, cfg.token_cache_s)

    def province_exists(code: int) -> None:
        if code not in PROVINCE_CODES:
            raise HTTPException(404, f"no province {code}")

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, str]:  # on the event loop: answers while the thread pool is busy
        return {"status": "ok"}

    @app.get("/v1/provinces", tags=["registry"])
    def provinces(_who: Who, s: Db) -> list[dict[str, Any]]:
        return [{"code": p.code, "name": p.name} for p in s.scalars(select(Province).order_by(Province.code))]

    @app.get("/v1/indicators", tags=["indicators"])
    def list_indicators(_who: Who) -> list[dict[str, Any]]:
        """The catalogue: formula, targets and the plan lines each indicator serves."""
        return [i.model_dump(mode="json") for i in catalogue.indicators]

    @app.get("/v1/indicators/{indicator_id}/values", tags=["indicators"], response_model=dict[str, Any])
    async def indicator_values(
        indicator_id: str, who: Who,
        province: Annotated[int, Query(examples=[82])],
        period: PeriodQuery = "year",
        level: Level = "province",
        unit: str | None = None,
        start: Annotated[dt.date | None, Query(alias="from", examples=["2026-01-01"])] = None,
        end: Annotated[dt.date | None, Query(alias="to", examples=["2026-12-31"])] = None,
    ) -> Response:
        """Values by period and unit, with the target, the gap to it and the change."""
        try:
            indicator = catalogue.get(indicator_id)
        except KeyError:
            raise HTTPException(404, f"no indicator {indicator_id!r}") from None
        province_exists(province)
        who.check_read(province)
        if level not in indicator.breakdowns:
            raise HTTPException(422, f"{indicator_id} has no breakdown by {level}; "
                                     f"it has {', '.join(indicator.breakdowns)}")
        today = dt.datetime.now(VIETNAM).date()
        last = end or today
        first = start or last.replace(month=1, day=1)
        if first > last:
            raise HTTPException(422, "'from' is after 'to'")
        key = ("values", indicator_id, province, period, level, first, last, unit)
        return await cached(key, lambda: {
            "indicator": indicator_id, "province": province, "period": period, "level": level,
            "values": views.indicator_values(influx, db, indicator, province=province, period=period,
                                             level=level, first=first, last=last, unit=unit)})

    @app.get("/v1/provinces/{province}/coverage", tags=["coverage"], response_model=dict[str, Any])
    async def coverage(province: int, who: Who, date: dt.date | None = None) -> Response:
        """Per commune: active devices by sector and profile, availability, last seen."""
        province_exists(province)
        who.check_read(province)
        day = date or dt.datetime.now(VIETNAM).date()
        mine = who.role is ApiRole.PROVINCE and who.province == province

        def compute() -> dict[str, Any]:
            with sessions() as s:
                return views.coverage(influx, db, s, province, day, int(time.time() * 1000),
                                      show_households=mine, suppress_below=cfg.suppress_below)
        return await cached(("coverage", province, day, mine), compute)

    @app.get("/v1/devices/{device_id}/readings", tags=["readings"])
    def device_readings(
        device_id: str, who: Who, s: Db,
        start: Annotated[dt.datetime, Query(alias="from", examples=["2026-03-10T00:00:00+07:00"])],
        end: Annotated[dt.datetime, Query(alias="to", examples=["2026-03-11T00:00:00+07:00"])],
        resolution: Literal["raw", "hour", "day"] = "hour",
    ) -> dict[str, Any]:
        """A device's readings; ranges are bounded per resolution (longer ones: coarser)."""
        if s.get(Device, device_id) is None:
            raise HTTPException(404, f"no device {device_id!r}")
        placement = s.scalar(select(Placement).where(
            Placement.subject_kind == SubjectKind.DEVICE, Placement.subject_id == device_id)
            .order_by(Placement.valid_from.desc()))
        province = s.get(Ward, placement.ward_code).province_code if placement else None
        if province is not None:
            who.check_read(province)
        org_id = placement.organisation_id if placement else None
        org = s.get(Organisation, org_id) if org_id else None
        if org is not None and org.type is OrgType.HOUSEHOLD_METER_POINT and not (
                who.role is ApiRole.PROVINCE and who.province == province):
            raise HTTPException(403, "a household's readings are personal data: only its province's "
                                     "operators see them")
        for name, value in (("from", start), ("to", end)):
            if value.tzinfo is None:
                raise HTTPException(422, f"'{name}' needs a UTC offset, e.g. +07:00")
        limit = {"raw": cfg.max_days_raw, "hour": cfg.max_days_hour, "day": cfg.max_days_day}[resolution]
        if end <= start:
            raise HTTPException(422, "'to' must be after 'from'")
        if end - start > dt.timedelta(days=limit):
            raise HTTPException(422, f"at most {limit} days at resolution {resolution}; "
                                     "ask for a coarser resolution")
        rows = views.readings(influx, db, device_id, int(start.timestamp() * 1000),
                              int(end.timestamp() * 1000), resolution)
        return {"device": device_id, "resolution": resolution, "readings": rows}

    @app.get("/v1/gateways", tags=["gateways"])
    def gateway_health(who: Who, s: Db, province: int) -> list[dict[str, Any]]:
        """Gateways of a province: last seen and the last heartbeat's numbers."""
        province_exists(province)
        who.check_read(province)
        ids = list(s.scalars(select(Placement.subject_id).join(Ward, Ward.code == Placement.ward_code)
                             .where(Placement.subject_kind == SubjectKind.GATEWAY,
                                    Placement.valid_to.is_(None), Ward.province_code == province)))
        return views.gateways(influx, db, s, ids)

    def administered(who: Principal, province: int | None) -> int | None:
        """The province an administrator works on: a province token its own (403 for another),
        an operator any or all (None)."""
        who.check_role(ApiRole.OPERATOR, ApiRole.PROVINCE)
        if who.role is ApiRole.PROVINCE:
            if province is not None:
                who.check_read(province)
            return who.province
        return province

    @app.get("/v1/registry/{kind}", tags=["registry"])
    def registry_list(kind: RegistryKind, who: Who, s: Db, province: int | None = None) -> dict[str, Any]:
        """The registry's current rows (the columns of ``iotgw registry export``), of one
        province: operators see any, a province's administrators their own."""
        scope = administered(who, province)
        if scope is not None:
            province_exists(scope)
        return {"kind": kind, "province": scope, "rows": list(registry_records(s, kind, province=scope))}

    @app.post("/v1/registry/{kind}", tags=["registry"])
    async def registry_import(kind: RegistryKind, request: Request, who: Who) -> dict[str, Any]:
        """Add rows, all or none: a CSV (the columns of ``iotgw registry export``), or with
        ``Content-Type: application/json`` one row as an object or several as a list. A
        province's administrators add rows of their own province only (403 otherwise)."""
        scope = administered(who, None)
        too_large = HTTPException(413, f"at most {MAX_CSV_BYTES} bytes per import")
        if int(request.headers.get("content-length") or 0) > MAX_CSV_BYTES:
            raise too_large
        body = bytearray()  # read up to the limit, not the whole of a hostile upload
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_CSV_BYTES:
                raise too_large
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise HTTPException(422, "the body must be UTF-8") from None
        with sessions() as s, s.begin():
            try:
                if request.headers.get("content-type", "").startswith("application/json"):
                    count = import_rows(s, kind, _json_rows(text), source=f"{kind}.json", province=scope)
                else:
                    count = import_csv(s, kind, io.StringIO(text), source=f"{kind}.csv", province=scope)
            except OutsideProvince as exc:
                raise HTTPException(403, str(exc)) from None
            except RegistryError as exc:  # ImportFailed names every bad line
                raise HTTPException(422, str(exc)) from None
        return {"imported": count, "kind": kind}

    @app.get("/v1/provinces/{province}/reports/{year}/{part}", tags=["reports"])
    def report(province: int, year: int,
               part: Literal["H1.csv", "H2.csv", "year.csv", "H1.xlsx", "H2.xlsx", "year.xlsx"],
               who: Who, s: Db) -> Response:
        """The 6-monthly or annual report of a province's indicators."""
        province_exists(province)
        who.check_read(province)
        if not 2020 <= year <= 2100:
            raise HTTPException(422, f"year {year} is outside 2020-2100")
        name, fmt = part.split(".")
        kind = "year" if name == "year" else "half"
        start = dt.date(year, 7 if name == "H2" else 1, 1)
        period = Period(kind, start)
        values = {}
        for ind in catalogue.indicators:
            found = views.indicator_values(influx, db, ind, province=province, period=kind,
                                           level="province", first=start, last=start, unit=str(province))
            if found:
                values[ind.id] = found[0]
        rows = report_rows(catalogue, values, period.label)
        title = f"Báo cáo chỉ tiêu, tỉnh/thành phố {s.get(Province, province).name}, kỳ {period.label}"
        filename = f"iotgw-{province}-{period.label}.{fmt}"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if fmt == "csv":
            return Response(as_csv(rows, catalogue), media_type="text/csv; charset=utf-8", headers=headers)
        return Response(as_xlsx(rows, catalogue, title), headers=headers, media_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))

    @app.get("/v1/open/provinces/{province}/environment", tags=["open data"])
    def open_environment(province: int, s: Db, month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")],
                         format: Literal["json", "csv"] = "json") -> Response:
        """Open data: daily means of the province's environmental monitoring stations."""
        province_exists(province)
        first = dt.date.fromisoformat(f"{month}-01")
        period = Period.containing("month", first)
        rows = []
        for device, place in s.execute(select(Device, Placement).join(
                Placement, (Placement.subject_id == Device.id)
                & (Placement.subject_kind == SubjectKind.DEVICE)).join(
                Ward, Ward.code == Placement.ward_code).where(
                Ward.province_code == province, Device.profile.in_(ENVIRONMENT_PROFILES),
                Placement.valid_to.is_(None))):
            for row in views.readings(influx, db, device.id, period.start_ms, period.end_ms, "day"):
                day = dt.datetime.fromtimestamp(row.pop("time") / 1000, VIETNAM).date().isoformat()
                rows.append({"station": device.id, "commune": place.ward_code, "date": day,
                             **{k.removesuffix("_mean"): round(v, 3) for k, v in row.items()
                                if k.endswith("_mean")}})
        dictionary = {"station": "mã trạm / station id", "commune": "mã xã, phường / commune code",
                      "date": "ngày (giờ Việt Nam) / day, Vietnam time",
                      **{q.name: f"{q.label_vi} / {q.label_en}, trung bình ngày / daily mean ({q.unit})"
                         for q in QUANTITIES.values()}}
        if format == "json":
            body = {"province": province, "month": month, "licence": "open data",
                    "data_dictionary": dictionary, "rows": rows}
            return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")
        columns = ["station", "commune", "date", *sorted({k for r in rows for k in r} - {
            "station", "commune", "date"})]
        out = io.StringIO()
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        writer.writerows(rows)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")

    @app.get("/v1/open/data-dictionary", tags=["open data"])
    def data_dictionary() -> dict[str, Any]:
        return {q.name: {"unit": q.unit, "vi": q.label_vi, "en": q.label_en, "kind": q.kind.value,
                         "range": [q.minimum, q.maximum]} for q in QUANTITIES.values()}

    app.mount("/", StaticFiles(directory=STATIC, html=True), name="dashboard")
    return app

