"""The Modbus driver's options: a map file named relative to the configuration file is found
from the file's folder, whatever the working directory (systemd starts the agent in /)."""

from __future__ import annotations

import shutil
from pathlib import Path

from iotgw.devices.register_maps import LIBRARY_DIR
from iotgw.gateway import load_gateway_config

from tests.iotgw.test_cli import iotgw


def test_a_relative_map_is_taken_from_the_config_files_folder(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    shutil.copy(LIBRARY_DIR / "eastron_sdm630m.toml", tmp_path / "maps" / "my_meter.toml")
    config = tmp_path / "gateway.toml"
    config.write_text('gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n[[devices]]\nid = "m1"\n'
                      'driver = "modbus"\nprofile = "electricity_meter"\ninterval_s = 60\n'
                      'modbus = { host = "10.0.0.5", map = "maps/my_meter.toml" }\n')
    [device] = load_gateway_config(config).devices
    assert device.modbus.map == tmp_path / "maps" / "my_meter.toml"
    assert not Path("maps/my_meter.toml").exists()  # the working directory has none
    result = iotgw("gateway", "check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
