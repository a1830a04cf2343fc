"""``/v1/access-log``: who read households' personal data, for operators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from iotgw.api.access import check_province
from iotgw.api.deps import CurrentPrincipal, SessionDep
from iotgw.api.params import PlanDateTime
from iotgw.api.schemas import AccessLogPublic, AccessPublic
from iotgw.registry import ApiRole, read_access_log
from iotgw.registry.access_log import MAX_ROWS

router = APIRouter(prefix="/v1/access-log", tags=["registry"])


@router.get("")
def read_accesses(
    who: CurrentPrincipal, session: SessionDep, province: int | None = None,
    since: Annotated[PlanDateTime | None, Query(examples=["2026-03-01T00:00:00+07:00"])] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 100,
) -> AccessLogPublic:
    """Reads of households' meter readings and registry rows, newest first: of one
    province, and from ``since``, if given. Operators only (403 for other roles)."""
    who.check_role(ApiRole.OPERATOR)
    if province is not None:
        check_province(province)
    if since is not None and since.tzinfo is None:
        raise HTTPException(422, "'since' needs a UTC offset, e.g. +07:00")
    rows = read_access_log(session, province=province, since=since, limit=limit)
    return AccessLogPublic(accesses=[
        AccessPublic(at=row.at, token=row.token_id, role=row.role.value, route=row.route,
                     device=row.device_id, organisation=row.organisation_id, province=row.province_code)
        for row in rows])
