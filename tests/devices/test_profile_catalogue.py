"""The one catalogue of device profiles: every profile named anywhere (gateway configs in
deploy/ and the docs, scenarios, the indicator catalogue, the device library, the
simulators, the API's station filter) is defined, and defined once; and each place that
takes a profile refuses an unknown one, naming its file and line or row."""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import pytest
from iotgw.api.routes.open_data import ENVIRONMENT_PROFILES
from iotgw.devices import QUANTITIES, ConfigError
from iotgw.devices.profiles import PROFILES, PROFILES_PATH, load_profiles
from iotgw.devices.register_maps import library
from iotgw.gateway.config import load_gateway_config
from iotgw.registry import ImportFailed, Sector, make_engine, session_factory, upgrade
from iotgw.registry.csv_import import import_csv
from iotgw.rollup.catalogue import CATALOGUE_PATH, load_catalogue
from iotgw.simulators import SIGNALS
from iotgw.simulators.scenario import bundled_scenarios, load_scenario

ROOT = Path(__file__).resolve().parents[2]
# `profile = "x"` (TOML), `"profile": "x"` (JSON), `device_profiles = ["x", ...]`
_NAMED = re.compile(r"""["']?profile["']?\s*[=:]\s*["']([A-Za-z0-9_.-]+)["']""")
_LISTED = re.compile(r"device_profiles\s*=\s*\[([^\]]*)\]")


def _named_in_files() -> dict[str, set[str]]:
    """Profile names written in the configuration files and examples of deploy/, docs/
    and the README, by file."""
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*"), *(ROOT / "deploy").rglob("*")]
    found: dict[str, set[str]] = {}
    for path in files:
        if path.suffix not in {".md", ".toml", ".json", ".yaml", ".yml", ".csv"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        names = set(_NAMED.findall(text))
        for listed in _LISTED.findall(text):
            names |= set(re.findall(r"[\"']([a-z0-9_]+)[\"']", listed))
        if names:
            found[str(path.relative_to(ROOT))] = names
    return found


def test_every_profile_named_anywhere_is_defined() -> None:
    named = {
        "scenarios": {p for name in bundled_scenarios() for site in load_scenario(name).sites
                      for p in site.devices},
        "indicator catalogue": {p for i in load_catalogue().indicators for p in i.formula.device_profiles},
        "device library": {m.profile for m in library().values()},
        "signal models": set(SIGNALS),
        "api open data": set(ENVIRONMENT_PROFILES),
        **_named_in_files(),
    }
    undefined = {where: sorted(names - PROFILES.keys()) for where, names in named.items()
                 if names - PROFILES.keys()}
    assert not undefined
    # the catalogue's names are the ones the indicators count: a meter of any phase count
    assert {"electricity_meter", "soil_quality", "pest_trap"} <= named["indicator catalogue"]
    assert {"electricity_meter"} == {m.profile for n, m in library().items() if n.startswith("eastron")}


def test_every_profile_is_defined_once_with_known_quantities_and_a_registry_sector() -> None:
    names = [p["name"] for p in tomllib.loads(PROFILES_PATH.read_text())["profiles"]]
    assert len(names) == len(set(names)) == len(PROFILES)
    for profile in PROFILES.values():
        assert profile.sector in {s.value for s in Sector}
        assert set(profile.quantities) <= QUANTITIES.keys()
        assert profile.label_vi and profile.label_en and profile.interval_s > 0
    assert PROFILES["electricity_meter"].quantity("active_energy").kind == "counter"


def test_a_profile_defined_twice_is_refused(tmp_path: Path) -> None:
    text = PROFILES_PATH.read_text()
    twice = tmp_path / "profiles.toml"
    first = text.index("[[profiles]]")
    twice.write_text(text + text[first:text.index("[[profiles]]", first + 1)])  # the first, again
    with pytest.raises(ConfigError, match=r"profiles.toml: .*defined twice: \['electricity_meter'\]"):
        load_profiles(twice)


def test_a_gateway_config_with_an_unknown_profile_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n[[devices]]\nid = "d1"\n'
                      'driver = "modbus"\nprofile = "three_phase_meter"\ninterval_s = 60\n'
                      'modbus = { host = "10.0.0.5", model = "eastron_sdm630m" }\n')
    with pytest.raises(ConfigError, match=r"gw.toml: line 8, devices.0.profile: .*unknown device profile "
                                          r"'three_phase_meter'; known: \[.*'electricity_meter'"):
        load_gateway_config(config)


def test_the_indicator_catalogue_with_an_unknown_profile_names_the_line(tmp_path: Path) -> None:
    text = CATALOGUE_PATH.read_text()
    bad = tmp_path / "catalogue.toml"
    bad.write_text(text.replace('device_profiles = ["pest_trap"]', 'device_profiles = ["insect_trap"]', 1))
    line = next(n for n, row in enumerate(bad.read_text().splitlines(), 1) if "insect_trap" in row)
    with pytest.raises(ConfigError, match=rf"catalogue.toml: line {line}, indicators.\d+.formula."
                                          r"device_profiles.0: .*unknown device profile 'insect_trap'"):
        load_catalogue(bad)


def test_a_registry_row_with_an_unknown_profile_names_the_row(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    upgrade(engine)
    rows = ("id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code\n"
            "m-1,gw-1,three_phase_meter,energy,900,2025-02-01,70\n")
    with session_factory(engine)() as session, pytest.raises(ImportFailed) as failed:
        import_csv(session, "devices", io.StringIO(rows), source="dev.csv")
    engine.dispose()
    assert ("dev.csv: line 2: profile: Value error, unknown device profile 'three_phase_meter'"
            in str(failed.value))
