"""Which stations' readings go to open data, and where they were when.

Open data is the environmental monitoring of public bodies: a station placed under a
public investment project, a monitoring agency or a school, or under no organisation (the
province's own network, registered by its operators). A private organisation's station
(a farm's pond probe, a factory's air sensor) is published only when its owner opted in
(``Organisation.open_data`` true); a public body may opt out the same way (false).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from iotgw.registry.models import Device, Organisation, OrgType, Placement, SubjectKind, Ward
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

PUBLIC_TYPES = frozenset({OrgType.PUBLIC_PROJECT, OrgType.MONITORING_AGENCY, OrgType.SCHOOL})


@dataclass(frozen=True, slots=True)
class StationPlacement:
    """A station in a ward of the province, published, from ``valid_from`` to ``valid_to``."""

    device_id: str
    interval_s: int
    ward_code: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None


def publishes(org_type: OrgType | None, open_data: bool | None) -> bool:
    """Whether a station under an organisation of this type and choice is open data."""
    if open_data is not None:
        return open_data
    return org_type is None or org_type in PUBLIC_TYPES


def open_station_placements(session: Session, province: int, *, profiles: Collection[str],
                            start: dt.datetime, end: dt.datetime) -> list[StationPlacement]:
    """The placements, overlapping [start, end), of the stations of those profiles in the
    province's wards whose readings are open data then (by the organisation they were under)."""
    overlapping = (Placement.valid_from < end) & or_(Placement.valid_to.is_(None), Placement.valid_to > start)
    rows = session.execute(
        select(Placement, Device.expected_interval_s, Organisation.type, Organisation.open_data)
        .join(Device, Device.id == Placement.subject_id)
        .join(Ward, Ward.code == Placement.ward_code)
        .outerjoin(Organisation, Organisation.id == Placement.organisation_id)
        .where(Placement.subject_kind == SubjectKind.DEVICE, Ward.province_code == province,
               Device.profile.in_(profiles), overlapping)
        .order_by(Placement.subject_id, Placement.valid_from))
    return [StationPlacement(p.subject_id, interval_s, p.ward_code, p.valid_from, p.valid_to)
            for p, interval_s, org_type, open_data in rows if publishes(org_type, open_data)]
