"""The links every service's configuration shares."""

from __future__ import annotations

import pytest
from iotgw.api.config import ApiConfig
from iotgw.devices import ConfigError
from iotgw.devices.config_files import parse_config
from iotgw.rollup.config import RollupConfig


@pytest.mark.parametrize("model", [RollupConfig, ApiConfig])
def test_a_file_naming_registry_url_still_loads_as_the_registry_link(model: type) -> None:
    old = parse_config('registry_url = "sqlite:///old.sqlite"\n', model, source="old.toml")
    new = parse_config('[registry]\nurl = "sqlite:///old.sqlite"\n', model, source="new.toml")
    assert old == new and old.registry.url == "sqlite:///old.sqlite"


def test_both_ways_at_once_is_an_error_naming_the_file() -> None:
    with pytest.raises(ConfigError, match=r"both\.toml.*registry_url and \[registry\] both given"):
        parse_config('registry_url = "a"\n[registry]\nurl = "b"\n', RollupConfig, source="both.toml")
