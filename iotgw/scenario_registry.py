"""A simulated fleet (``simulators.scenario``) written into the registry, as a province's
operators would import their organisations, gateways and devices."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from sqlalchemy.orm import Session

from iotgw.devices import ConfigError
from iotgw.registry import (
    Device,
    Gateway,
    Organisation,
    OrgType,
    Sector,
    SubjectKind,
    place,
    seed_admin_units,
)
from iotgw.simulators.scenario import Fleet

E = TypeVar("E", OrgType, Sector)


def _enum(kind: type[E], value: str, where: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"scenario {where}: {value!r} is not a registry {kind.__name__};"
                          f" known: {[v.value for v in kind]}") from None


def register_fleet(session: Session, fleet: Fleet, *, since: dt.datetime) -> None:
    """Every organisation, gateway and device of ``fleet``, placed in its commune from ``since``.

    Raises: ConfigError for an organisation type or sector the registry does not know.
    """
    seed_admin_units(session)
    name = fleet.scenario.name
    for org in fleet.organisations:
        session.add(Organisation(id=org.id, name=org.name, type=_enum(OrgType, org.org_type, name),
                                 sector=_enum(Sector, org.sector, name)))
    session.flush()
    for org in fleet.organisations:
        place(session, SubjectKind.ORGANISATION, org.id, at=since, ward_code=org.ward_code)
    for gw in fleet.gateways:
        session.add(Gateway(id=gw.id, installed_on=since.date()))
        session.add_all(Device(id=d.id, profile=d.profile, sector=_enum(Sector, d.sector, name),
                               expected_interval_s=fleet.scenario.interval_s, installed_on=since.date())
                        for d in gw.devices)
    session.flush()
    for gw in fleet.gateways:
        place(session, SubjectKind.GATEWAY, gw.id, at=since, ward_code=gw.ward_code)
        for d in gw.devices:
            place(session, SubjectKind.DEVICE, d.id, at=since, ward_code=gw.ward_code,
                  organisation_id=d.organisation_id, gateway_id=gw.id)
