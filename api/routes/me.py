"""``/v1/me``: who the token is, so the dashboard can say who is signed in and an
organisation's client can find its own devices."""

from __future__ import annotations

from fastapi import APIRouter
from iotgw.api.deps import CurrentPrincipal, SessionDep
from iotgw.api.schemas import MeDevicePublic, MePublic
from iotgw.registry import ApiRole, organisation_devices

router = APIRouter(prefix="/v1/me", tags=["auth"])


@router.get("")
def read_me(who: CurrentPrincipal, session: SessionDep) -> MePublic:
    """The token's name, role, province and organisation; for an organisation's token, the
    devices placed under it now (the ones whose readings it may read)."""
    devices = []
    if who.role is ApiRole.ORGANISATION and who.organisation is not None:
        devices = [MeDevicePublic(id=d.id, profile=d.profile, ward=d.ward_code)
                   for d in organisation_devices(session, who.organisation)]
    return MePublic(token=who.token_id, role=who.role.value, province=who.province,
                    organisation=who.organisation, devices=devices)
