"""``/v1/devices/{device_id}/readings``: one device's readings over a bounded range."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from iotgw.api import views
from iotgw.api.deps import CurrentPrincipal, InfluxDep, SessionDep, SettingsDep
from iotgw.api.params import PlanDateTime
from iotgw.api.schemas import DeviceReadingsPublic, Resolution
from iotgw.registry import NotFound, OrgType, Reader, device_organisation, device_owner, record_reading
from iotgw.tsdb.schema import personal_database

router = APIRouter(prefix="/v1/devices", tags=["readings"])

READINGS_ROUTE = "GET /v1/devices/{device_id}/readings"


@router.get("/{device_id}/readings")
def read_device_readings(
    device_id: str, who: CurrentPrincipal, session: SessionDep, settings: SettingsDep, influx: InfluxDep,
    start: Annotated[PlanDateTime, Query(alias="from", examples=["2026-03-10T00:00:00+07:00"])],
    end: Annotated[PlanDateTime, Query(alias="to", examples=["2026-03-11T00:00:00+07:00"])],
    resolution: Resolution = "hour",
) -> DeviceReadingsPublic:
    """A device's readings; ranges are bounded per resolution (longer ones: coarser).
    A household's meter is read only by its own province's tokens and the household's
    own (personal data), and each read is recorded (``/v1/access-log``); an organisation's
    token reads only the devices placed (last) under it."""
    try:
        owner = device_owner(session, device_id)
    except NotFound:
        raise HTTPException(404, f"no device {device_id!r}") from None
    holder = device_organisation(session, device_id)
    household = owner.organisation_type is OrgType.HOUSEHOLD_METER_POINT
    who.check_device(owner.province, holder, household=household)
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None:
            raise HTTPException(422, f"'{name}' needs a UTC offset, e.g. +07:00")
    limit = {"raw": settings.max_days_raw, "hour": settings.max_days_hour,
             "day": settings.max_days_day}[resolution]
    if end <= start:
        raise HTTPException(422, "'to' must be after 'from'")
    if end - start > dt.timedelta(days=limit):
        raise HTTPException(422, f"at most {limit} days at resolution {resolution}; "
                                 "ask for a coarser resolution")
    if household:  # recorded before the read: a read that fails half-way still saw data
        record_reading(session, Reader(who.token_id, who.role, READINGS_ROUTE), device_id=device_id,
                       organisation_id=holder, province=owner.province)
        session.commit()
    database = settings.influx.database
    if owner.organisation_type is OrgType.HOUSEHOLD_METER_POINT:  # personal data apart (tsdb.schema)
        database = personal_database(database)
    rows = views.readings(influx, database, device_id, int(start.timestamp() * 1000),
                          int(end.timestamp() * 1000), resolution)
    return DeviceReadingsPublic(device=device_id, resolution=resolution, readings=rows)
