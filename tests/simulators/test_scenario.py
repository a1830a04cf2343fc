"""Province scenarios: real communes, the plans' named wards, deterministic, scalable."""

from __future__ import annotations

from pathlib import Path

import pytest
from iotgw.devices import ConfigError
from iotgw.gateway.config import BrokerConfig
from iotgw.simulators.scenario import (
    build_fleet,
    bundled_scenarios,
    gateway_configs,
    load_scenario,
    province_wards,
)

SMART_CITY_WARDS = {28261, 29869, 29905, 29955}  # seed 002 L44-46: Mỹ Tho, Cao Lãnh, Sa Đéc, Hồng Ngự


def test_the_three_provinces_are_bundled() -> None:
    assert bundled_scenarios() == ["dong_nai", "dong_thap", "ho_chi_minh"]
    assert {load_scenario(n).province for n in bundled_scenarios()} == {75, 82, 79}


@pytest.mark.parametrize("name", bundled_scenarios())
def test_every_site_lies_in_a_commune_of_its_province(name: str) -> None:
    fleet = build_fleet(load_scenario(name))
    wards = set(province_wards(fleet.scenario.province).values())
    assert {o.ward_code for o in fleet.organisations} <= wards
    assert {g.ward_code for g in fleet.gateways} <= wards
    assert all(len(g.devices) <= fleet.scenario.devices_per_gateway for g in fleet.gateways)
    ids = [d.id for g in fleet.gateways for d in g.devices]
    assert len(ids) == len(set(ids)) == fleet.devices > 0
    owners = {d.organisation_id for g in fleet.gateways for d in g.devices} - {None}
    assert owners <= {o.id for o in fleet.organisations}
    assert len(owners) < len(fleet.organisations)  # some are registered but not equipped yet


def test_dong_thap_has_urban_sensors_in_the_four_smart_city_wards() -> None:
    fleet = build_fleet(load_scenario("dong_thap"))
    urban = {g.ward_code for g in fleet.gateways for d in g.devices if d.sector == "urban"}
    assert urban == SMART_CITY_WARDS
    profiles = {d.profile for g in fleet.gateways for d in g.devices}
    assert {"soil_probe", "water_quality", "electricity_meter", "air_quality"} <= profiles


def test_a_fleet_is_the_same_for_the_same_seed_and_scales() -> None:
    scenario = load_scenario("dong_nai")
    assert build_fleet(scenario) == build_fleet(scenario)
    small, large = build_fleet(scenario, scale=1), build_fleet(scenario, scale=100)
    assert 95 * small.devices <= large.devices <= 105 * small.devices
    assert len(large.organisations) == 100 * len(small.organisations)


def test_gateway_configs_carry_the_scenarios_faults(tmp_path: Path) -> None:
    fleet = build_fleet(load_scenario("ho_chi_minh"))
    configs = gateway_configs(fleet, broker=BrokerConfig(), buffer_dir=tmp_path, interval_s=10)
    assert [c.gateway_id for c in configs] == [g.id for g in fleet.gateways]
    device = configs[0].devices[0]
    assert device.faults == fleet.scenario.faults.device and device.faults.dropout > 0
    assert device.interval_s == 10 and device.jitter_s == 5


def test_an_unknown_commune_is_named_with_its_file_and_site(tmp_path: Path) -> None:
    text = load_scenario_text().replace('"Xã Tháp Mười", ', '"Xã Không Có", ', 1)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"bad.toml: sites.0.communes: \['Xã Không Có'\]"):
        load_scenario(str(path))


def test_a_profile_without_a_signal_model_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(load_scenario_text().replace('devices = ["soil_probe"]', 'devices = ["radar"]', 1))
    with pytest.raises(ConfigError,
                       match=r"bad.toml: line \d+, sites.0.devices: .*no signal model for \['radar'\]"):
        load_scenario(str(path))


def load_scenario_text() -> str:
    from iotgw.simulators.scenario import scenario_path

    return scenario_path("dong_thap").read_text()
