"""Whose a device is: the organisation an ``organisation`` API token reads for, and the
household a personal data access is recorded against."""

from __future__ import annotations

from dataclasses import dataclass

from iotgw.registry.models import Device, Placement, SubjectKind
from sqlalchemy import select
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class HeldDevice:
    """A device placed now under an organisation."""

    id: str
    profile: str
    ward_code: int


def device_organisation(session: Session, device_id: str) -> str | None:
    """The organisation of a device's latest placement (open or closed, as
    ``device_owner`` decides who may read it); None if unplaced or under none."""
    return session.scalar(select(Placement.organisation_id).where(
        Placement.subject_kind == SubjectKind.DEVICE, Placement.subject_id == device_id)
        .order_by(Placement.valid_from.desc()).limit(1))


def organisation_devices(session: Session, organisation_id: str) -> list[HeldDevice]:
    """The devices placed now under an organisation, by id."""
    rows = session.execute(select(Device.id, Device.profile, Placement.ward_code).join(
        Placement, (Placement.subject_id == Device.id)
        & (Placement.subject_kind == SubjectKind.DEVICE)).where(
        Placement.organisation_id == organisation_id, Placement.valid_to.is_(None))
        .order_by(Device.id))
    return [HeldDevice(device_id, profile, ward) for device_id, profile, ward in rows]
