"""A small registry for the tag tests (cache, file health, ingest's lookup): gateway gw-1
with soil probes placed in one ward at T0, and a clock the tests move by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from iotgw.registry import (
    Device,
    Gateway,
    Organisation,
    OrgType,
    Sector,
    SubjectKind,
    make_engine,
    place,
    seed_admin_units,
    session_factory,
    upgrade,
)
from sqlalchemy import Engine

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def register_soil_probes(engine: Engine, devices: Sequence[str] = ("soil-1",), *, ward: int = 70,
                         organisation: str | None = None) -> None:
    """On a migrated registry: the probes on gw-1 in ``ward``, under ``organisation`` (a
    cooperative) if given. Built the same way whatever the ward, so two such registries
    have the same revision number."""
    with session_factory(engine)() as session, session.begin():
        seed_admin_units(session)
        if organisation is not None:
            session.add(Organisation(id=organisation, name="HTX 1", type=OrgType.COOPERATIVE,
                                     sector=Sector.AGRICULTURE))
        session.add(Gateway(id="gw-1", installed_on=T0.date()))
        for device in devices:
            session.add(Device(id=device, profile="soil_probe", sector=Sector.AGRICULTURE,
                               expected_interval_s=300, installed_on=T0.date()))
        session.flush()
        for device in devices:
            place(session, SubjectKind.DEVICE, device, at=T0, ward_code=ward,
                  organisation_id=organisation, gateway_id="gw-1")


def soil_registry_file(path: Path, devices: Sequence[str] = ("soil-1",), *, ward: int = 70) -> Path:
    """A SQLite registry file at ``path`` made by ``register_soil_probes``."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    register_soil_probes(engine, devices, ward=ward)
    engine.dispose()
    return path
