"""The registry as a period saw it: who was where, installed when, and the official counts
of its year. Read once per period, then the indicators are plain Python over it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from iotgw.registry import (
    SubjectKind,
    devices_by_id,
    organisations_by_id,
    placements_during,
    reference_counts,
    ward_provinces,
)
from iotgw.rollup.periods import Period, local_midnight_ms
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class DeviceView:
    id: str
    profile: str
    sector: str
    interval_s: int
    installed_ms: int  # from local midnight of the installation day
    removed_ms: int | None  # from local midnight of the decommissioning day
    ward: int
    province: int
    organisation: str | None
    gateway: str | None

    def installed_ms_in(self, start_ms: int, end_ms: int) -> int:
        """How long, of [start, end), the device was installed."""
        until = end_ms if self.removed_ms is None else min(end_ms, self.removed_ms)
        return max(0, until - max(start_ms, self.installed_ms))


@dataclass(frozen=True, slots=True)
class OrganisationView:
    id: str
    type: str
    sector: str
    ward: int
    province: int


@dataclass(frozen=True, slots=True)
class RegistryView:
    devices: dict[str, DeviceView]
    organisations: dict[str, OrganisationView]
    wards: dict[int, int]  # ward code -> province code, of the wards in force at the end
    reference: dict[tuple[str, int, str], int]  # (level, unit code, org type) -> count


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def registry_view(session: Session, period: Period) -> RegistryView:
    start, end = _utc(period.start_ms), _utc(period.end_ms)
    wards = ward_provinces(session, in_force_on=period.end - dt.timedelta(days=1))
    province_of = ward_provinces(session)

    org_places = placements_during(session, SubjectKind.ORGANISATION, start, end)
    organisations = {}
    for org in organisations_by_id(session, org_places):
        ward = org_places[org.id].ward_code
        organisations[org.id] = OrganisationView(org.id, org.type.value, org.sector.value, ward,
                                                 province_of[ward])
    device_places = placements_during(session, SubjectKind.DEVICE, start, end)
    devices = {}
    for device in devices_by_id(session, device_places):
        place = device_places[device.id]
        devices[device.id] = DeviceView(
            device.id, device.profile, device.sector.value, device.expected_interval_s,
            local_midnight_ms(device.installed_on),
            local_midnight_ms(device.decommissioned_on) if device.decommissioned_on else None,
            place.ward_code, province_of[place.ward_code], place.organisation_id, place.gateway_id)
    return RegistryView(devices, organisations, wards, reference_counts(session, period.start.year))
