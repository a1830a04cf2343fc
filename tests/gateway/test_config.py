from __future__ import annotations

from pathlib import Path

import pytest
from iotgw.devices import ConfigError
from iotgw.gateway import load_gateway_config

VALID = """
gateway_id = "gw-1"

[buffer]
path = "/var/lib/iotgw/buffer.sqlite"

[[devices]]
id = "soil-1"
driver = "simulated"
profile = "soil_probe"
interval_s = 10
"""


def test_a_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(VALID)
    cfg = load_gateway_config(path)
    assert cfg.devices[0].interval_s == 10
    assert cfg.broker.port == 1883 and cfg.buffer.synchronous == "full"


@pytest.mark.parametrize(("text", "message"), [
    (VALID.replace("interval_s = 10", "interval_s = 0"),
     "line 11, devices.0.interval_s: Input should be greater than 0"),
    (VALID.replace('"gw-1"', '"gw/1"'), "line 2, gateway_id: String should match pattern"),
    (VALID + VALID[VALID.index("[[devices]]"):], "devices: Value error, device id 'soil-1' appears twice"),
    (VALID.replace("[buffer]", "[bufer]"), "bufer: Extra inputs are not permitted"),
])
def test_errors_name_file_field_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_gateway_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read: No such file"):
        load_gateway_config(tmp_path / "absent.toml")
