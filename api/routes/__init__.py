"""The API's routers, one per resource, combined in ``api_router`` (as the FastAPI
template's ``api/main.py`` combines them); the dashboard is mounted separately."""

from fastapi import APIRouter
from iotgw.api.routes import (
    access_log,
    devices,
    gateways,
    health,
    indicators,
    map,
    me,
    national,
    open_data,
    provinces,
    registry_admin,
    reports,
)
from iotgw.api.routes.dashboard import mount_dashboard

api_router = APIRouter()
for _module in (health, me, provinces, map, indicators, national, devices, gateways, registry_admin, reports,
                open_data, access_log):
    api_router.include_router(_module.router)

__all__ = ["api_router", "mount_dashboard"]
