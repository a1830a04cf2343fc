"""``/v1/provinces``: the provinces, and coverage per commune of one of them."""

from __future__ import annotations

import datetime as dt
import time

from fastapi import APIRouter
from fastapi.responses import Response
from iotgw.api import views
from iotgw.api.access import readable_province
from iotgw.api.deps import CurrentPrincipal, InfluxDep, SessionDep, SessionsDep, SettingsDep, ViewsDep
from iotgw.api.params import PlanDate
from iotgw.api.privacy import Rule
from iotgw.api.schemas import CoveragePublic, ProvincePublic, ProvincesPublic
from iotgw.registry import list_provinces
from iotgw.rollup.periods import VIETNAM

router = APIRouter(prefix="/v1/provinces")


@router.get("", tags=["registry"])
def read_provinces(_who: CurrentPrincipal, session: SessionDep) -> ProvincesPublic:
    return ProvincesPublic([ProvincePublic(code=p.code, name=p.name) for p in list_provinces(session)])


@router.get("/{province}/coverage", tags=["coverage"], response_model=CoveragePublic)
async def read_coverage(province: int, who: CurrentPrincipal, settings: SettingsDep, influx: InfluxDep,
                        sessions: SessionsDep, cache: ViewsDep, date: PlanDate | None = None) -> Response:
    """Per commune: active devices by sector and profile, availability, last seen.

    Answered from the view cache as JSON bytes (``CoveragePublic``). A province's own
    token sees its households' meters; others see them only where enough households are
    counted (``iotgw.api.privacy``)."""
    readable_province(who, province)
    day = date or dt.datetime.now(VIETNAM).date()
    rule = Rule.of(who, province, settings.suppress_below)

    def compute() -> CoveragePublic:
        with sessions() as session:
            return views.coverage(influx, settings.influx.database, session, province, day,
                                  int(time.time() * 1000), rule=rule)
    return await cache.response(("coverage", province, day, rule), compute)
