"""Read-only questions other services ask the registry: provinces and their wards, where
subjects are now, what is placed in a province, API tokens by hash.

The registry's tables are queried only inside ``registry``; callers get rows and plain
values back and never build a query on a registry model themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from iotgw.registry.errors import NotFound
from iotgw.registry.models import (
    ApiToken,
    Device,
    Gateway,
    Organisation,
    OrgType,
    Placement,
    Province,
    ReferenceCount,
    SubjectKind,
    Ward,
)
from sqlalchemy import or_, select
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class DeviceOwner:
    """Where a device's latest placement puts it and whose it is.

    Attributes:
        province: the province of the placement's ward; None for a device never placed.
        organisation_type: the type of the organisation it was placed under; None for
            none (unplaced, or placed without an organisation).
    """

    province: int | None
    organisation_type: OrgType | None


def list_provinces(session: Session) -> Sequence[Province]:
    """Every province, by code."""
    return session.scalars(select(Province).order_by(Province.code)).all()


def get_province(session: Session, code: int) -> Province:
    """One province.

    Raises:
        NotFound: no province has that code.
    """
    province = session.get(Province, code)
    if province is None:
        raise NotFound("province", code)
    return province


def ward_names(session: Session, province: int) -> dict[int, str]:
    """The wards of a province (retired ones too), code to name."""
    return dict(session.execute(select(Ward.code, Ward.name).where(Ward.province_code == province)).all())


def device_owner(session: Session, device_id: str) -> DeviceOwner:
    """The province and organisation type of a device's latest placement (open or closed),
    which decide who may read its readings.

    Raises:
        NotFound: no device has that id.
    """
    if session.get(Device, device_id) is None:
        raise NotFound("device", device_id)
    placement = session.scalar(select(Placement).where(
        Placement.subject_kind == SubjectKind.DEVICE, Placement.subject_id == device_id)
        .order_by(Placement.valid_from.desc()))
    if placement is None:
        return DeviceOwner(None, None)
    ward = session.get(Ward, placement.ward_code)
    org = session.get(Organisation, placement.organisation_id) if placement.organisation_id else None
    return DeviceOwner(ward.province_code if ward else None, org.type if org else None)


def gateways_in_province(session: Session, province: int) -> list[str]:
    """Ids of the gateways placed now in a ward of the province."""
    return list(session.scalars(select(Placement.subject_id).join(Ward, Ward.code == Placement.ward_code)
                                .where(Placement.subject_kind == SubjectKind.GATEWAY,
                                       Placement.valid_to.is_(None), Ward.province_code == province)))


def gateways_by_id(session: Session, gateway_ids: Collection[str]) -> Sequence[Gateway]:
    """The registered gateways among ``gateway_ids``, by id; unknown ids are left out."""
    return session.scalars(select(Gateway).where(Gateway.id.in_(gateway_ids)).order_by(Gateway.id)).all()


def devices_in_province(session: Session, province: int, *,
                        profiles: Collection[str]) -> list[tuple[Device, Placement]]:
    """The devices of the given profiles placed now in a ward of the province, each with
    its current placement."""
    rows = session.execute(select(Device, Placement).join(
        Placement, (Placement.subject_id == Device.id)
        & (Placement.subject_kind == SubjectKind.DEVICE)).join(
        Ward, Ward.code == Placement.ward_code).where(
        Ward.province_code == province, Device.profile.in_(profiles),
        Placement.valid_to.is_(None)))
    return [(device, placement) for device, placement in rows]


def find_token(session: Session, token_hash: str) -> ApiToken | None:
    """The API token with that SHA-256 (hex), revoked or not."""
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


def ward_provinces(session: Session, *, in_force_on: dt.date | None = None) -> dict[int, int]:
    """Ward code -> province code: every ward, or those not retired by ``in_force_on``."""
    query = select(Ward.code, Ward.province_code)
    if in_force_on is not None:
        query = query.where(or_(Ward.retired_on.is_(None), Ward.retired_on > in_force_on))
    return {code: province for code, province in session.execute(query)}


def organisations_by_id(session: Session, ids: Collection[str]) -> Sequence[Organisation]:
    return session.scalars(select(Organisation).where(Organisation.id.in_(ids))).all()


def devices_by_id(session: Session, ids: Collection[str]) -> Sequence[Device]:
    return session.scalars(select(Device).where(Device.id.in_(ids))).all()


def device_intervals(session: Session) -> dict[str, int]:
    """Every device's expected reporting interval, in seconds."""
    return {device: interval for device, interval in session.execute(
        select(Device.id, Device.expected_interval_s))}


def reference_counts(session: Session, year: int) -> dict[tuple[str, int, str], int]:
    """The year's official totals: (level, unit code, organisation type) -> count."""
    return {(row.level, row.unit_code, row.org_type.value): row.count
            for row in session.scalars(select(ReferenceCount).where(ReferenceCount.year == year))}
