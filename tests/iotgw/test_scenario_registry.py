"""A scenario's fleet in the registry: what ingest and the rollup read."""

from __future__ import annotations

import datetime as dt

import pytest
from iotgw.devices import ConfigError
from iotgw.registry import Device, Organisation, Placement, make_engine, session_factory, upgrade
from iotgw.simulators.scenario import build_fleet, load_scenario
from sqlalchemy import func, select

from iotgw.scenario_registry import register_fleet

SINCE = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def test_every_organisation_and_device_is_placed_in_its_commune() -> None:
    fleet = build_fleet(load_scenario("dong_thap"))
    engine = make_engine("sqlite://")
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        register_fleet(session, fleet, since=SINCE)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == len(fleet.organisations)
        assert session.scalar(select(func.count()).select_from(Device)) == fleet.devices
        device = fleet.gateways[0].devices[0]
        placement = session.scalar(select(Placement).where(Placement.subject_id == device.id))
        assert placement.ward_code == fleet.gateways[0].ward_code
        assert placement.gateway_id == fleet.gateways[0].id
        assert placement.organisation_id == device.organisation_id
        assert session.get(Device, device.id).expected_interval_s == 900


def test_an_organisation_type_the_registry_does_not_know_is_a_config_error() -> None:
    scenario = load_scenario("dong_thap")
    site = scenario.sites[0].model_copy(update={"org_type": "plantation"})
    fleet = build_fleet(scenario.model_copy(update={"sites": [site]}))
    engine = make_engine("sqlite://")
    upgrade(engine)
    with (pytest.raises(ConfigError, match=r"'plantation' is not a registry OrgType; known: \['farm'"),
          session_factory(engine)() as session):
        register_fleet(session, fleet, since=SINCE)
