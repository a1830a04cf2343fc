"""``/v1/indicators``: the catalogue, and an indicator's values against its targets."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from iotgw.api import views
from iotgw.api.access import readable_province
from iotgw.api.deps import CatalogueDep, CurrentPrincipal, InfluxDep, SessionsDep, SettingsDep, ViewsDep
from iotgw.api.params import PlanDate
from iotgw.api.privacy import Rule
from iotgw.api.schemas import IndicatorsPublic, IndicatorValuesPublic, Level, PeriodQuery
from iotgw.devices.topics import ID_PATTERN
from iotgw.rollup.periods import VIETNAM

router = APIRouter(prefix="/v1/indicators", tags=["indicators"])


@router.get("")
def read_indicators(_who: CurrentPrincipal, catalogue: CatalogueDep) -> IndicatorsPublic:
    """The catalogue: formula, targets and the plan lines each indicator serves."""
    return IndicatorsPublic.model_validate(catalogue.indicators, from_attributes=True)


@router.get("/{indicator_id}/values", response_model=IndicatorValuesPublic)
async def read_indicator_values(
    indicator_id: str, who: CurrentPrincipal, catalogue: CatalogueDep, settings: SettingsDep,
    influx: InfluxDep, sessions: SessionsDep, cache: ViewsDep,
    province: Annotated[int, Query(examples=[82])],
    period: PeriodQuery = "year",
    level: Level = "province",
    # A unit is an id (commune or province code, organisation type, ...): anything else,
    # a newline included, is 422 naming ``unit`` rather than a query InfluxDB refuses.
    unit: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    start: Annotated[PlanDate | None, Query(alias="from", examples=["2026-01-01"])] = None,
    end: Annotated[PlanDate | None, Query(alias="to", examples=["2026-12-31"])] = None,
) -> Response:
    """Values by period and unit, with the target, the gap to it and the change.

    Answered from the view cache as JSON bytes (``IndicatorValuesPublic``)."""
    try:
        indicator = catalogue.get(indicator_id)
    except KeyError:
        raise HTTPException(404, f"no indicator {indicator_id!r}") from None
    readable_province(who, province)
    if level not in indicator.breakdowns:
        raise HTTPException(422, f"{indicator_id} has no breakdown by {level}; "
                                 f"it has {', '.join(indicator.breakdowns)}")
    today = dt.datetime.now(VIETNAM).date()
    last = end or today
    first = start or last.replace(month=1, day=1)
    if first > last:
        raise HTTPException(422, "'from' is after 'to'")
    database = settings.influx.database
    rule = Rule.of(who, province, settings.suppress_below)  # the cache key carries it

    def compute() -> IndicatorValuesPublic:
        with sessions() as session:
            return IndicatorValuesPublic(
                indicator=indicator_id, province=province, period=period, level=level,
                areas=views.areas(session, indicator, province, level),
                values=views.indicator_values(influx, database, session, indicator, province=province,
                                              period=period, level=level, first=first, last=last,
                                              rule=rule, unit=unit))
    return await cache.response(
        ("values", indicator_id, province, period, level, first, last, unit, rule), compute)
