"""``/healthz``: the service is up. No token, no registry, no InfluxDB."""

from __future__ import annotations

from fastapi import APIRouter
from iotgw.api.schemas import HealthPublic

router = APIRouter(tags=["service"])


@router.get("/healthz")
async def read_health() -> HealthPublic:
    """On the event loop, so it answers while the thread pool is busy."""
    return HealthPublic(status="ok")
