"""``/v1/gateways``: a province's gateways, last seen and their last heartbeat."""

from __future__ import annotations

from fastapi import APIRouter
from iotgw.api import views
from iotgw.api.access import readable_province
from iotgw.api.deps import CurrentPrincipal, InfluxDep, SessionDep, SettingsDep
from iotgw.api.privacy import Rule
from iotgw.api.schemas import GatewaysPublic
from iotgw.registry import gateways_in_province

router = APIRouter(prefix="/v1/gateways", tags=["gateways"])


@router.get("")
def read_gateways(who: CurrentPrincipal, session: SessionDep, settings: SettingsDep, influx: InfluxDep,
                  province: int) -> GatewaysPublic:
    """Gateways of a province: last seen and the last heartbeat's numbers. A gateway of
    fewer households than ``suppress_below`` is listed only to the province's own tokens."""
    readable_province(who, province)
    ids = gateways_in_province(session, province)
    return GatewaysPublic(views.gateways(influx, settings.influx.database, session, province, ids,
                                         health_window_days=settings.health_window_days,
                                         rule=Rule.of(who, province, settings.suppress_below)))
