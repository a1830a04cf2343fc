"""``/v1/indicators/{id}/provinces``: one indicator across every province (ministry and
operator tokens), for the national comparison the ministries make."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from iotgw.api.deps import CatalogueDep, CurrentPrincipal, InfluxDep, SessionsDep, SettingsDep, ViewsDep
from iotgw.api.national import compare
from iotgw.api.params import PlanDate
from iotgw.api.privacy import Rule
from iotgw.api.schemas import NationalComparisonPublic, PeriodQuery
from iotgw.registry import PROVINCE_CODES, ApiRole
from iotgw.rollup.periods import VIETNAM, Period

router = APIRouter(prefix="/v1/indicators", tags=["indicators"])


@router.get("/{indicator_id}/provinces", response_model=NationalComparisonPublic)
async def read_indicator_by_province(
    indicator_id: str, who: CurrentPrincipal, catalogue: CatalogueDep, settings: SettingsDep,
    influx: InfluxDep, sessions: SessionsDep, cache: ViewsDep,
    period: PeriodQuery = "year",
    start: Annotated[PlanDate | None, Query(alias="from", examples=["2026-01-01"],
                                            description="A day of the period (default today).")] = None,
) -> Response:
    """The indicator for every province for the period holding ``from``: value, area,
    denominator and its source, and ``comparable`` (false, saying why, when the provinces'
    denominators come from different sources). Household figures follow the privacy rule.

    Answered from the view cache as JSON bytes (``NationalComparisonPublic``)."""
    who.check_role(ApiRole.MINISTRY, ApiRole.OPERATOR)
    try:
        indicator = catalogue.get(indicator_id)
    except KeyError:
        raise HTTPException(404, f"no indicator {indicator_id!r}") from None
    if "province" not in indicator.breakdowns:
        raise HTTPException(422, f"{indicator_id} has no breakdown by province")
    chosen = Period.containing(period, start or dt.datetime.now(VIETNAM).date())
    rules = {code: Rule.of(who, code, settings.suppress_below) for code in PROVINCE_CODES}

    def compute() -> NationalComparisonPublic:
        with sessions() as session:
            return compare(influx, settings.influx.database, session, indicator, chosen, rules.__getitem__)
    return await cache.response(("national", indicator_id, chosen, tuple(sorted(rules.items()))), compute)
