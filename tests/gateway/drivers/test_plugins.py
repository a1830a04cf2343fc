"""Every driver in the table is a whole plugin (options, source factory, README, sample
config), its options are checked when the file is loaded, and a field gateway loads the
code of the drivers it configures and no other."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest
from iotgw.devices import ConfigError
from iotgw.gateway import load_gateway_config
from iotgw.gateway.drivers import DRIVERS, driver_module

ROOT = Path(__file__).resolve().parents[3]
HEADER = 'gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n'


def _load(tmp_path: Path, devices: str):
    path = tmp_path / "gateway.toml"
    path.write_text(HEADER + devices)
    return load_gateway_config(path)


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_each_driver_is_a_plugin_whose_sample_loads_and_is_its_readme(tmp_path: Path, name: str) -> None:
    module = driver_module(name)
    assert typing.get_args(module.Options.model_fields["driver"].annotation) == (name,)
    assert callable(module.make_source)
    folder = ROOT / "gateway" / "drivers" / name
    sample = (folder / "sample.toml").read_text()
    assert f"```toml\n{sample}```" in (folder / "README.md").read_text()
    [device] = _load(tmp_path, sample).devices
    assert device.driver == name and isinstance(device, module.Options)
    assert (ROOT / "tests" / "gateway" / "drivers" / name).is_dir()


@pytest.mark.parametrize(("devices", "message"), [
    ('[[devices]]\nid = "d1"\ndriver = "modbus"\nprofile = "electricity_meter"\ninterval_s = 60\n'
     'modbus = { host = "10.0.0.5", port = 0, model = "eastron_sdm630m" }\n',
     "line 10, devices.0.modbus.port: Input should be greater than or equal to 1"),
    ('[[devices]]\nid = "d1"\ndriver = "modbus"\nprofile = "electricity_meter"\ninterval_s = 60\n',
     "line 5, devices.0.modbus: Field required"),
    ('[[devices]]\nid = "d1"\ndriver = "simulated"\nprofile = "soil_probe"\ninterval_s = 60\n'
     'modbus = { host = "10.0.0.5", model = "eastron_sdm630m" }\n',
     "line 10, devices.0.modbus: Extra inputs are not permitted"),
    ('[[devices]]\nid = "d1"\ndriver = "simulated"\nprofile = "soil_probe"\ninterval_s = 60\n'
     '[devices.faults]\ndropout = 2\n', "line 11, devices.0.faults.dropout: Input should be less than"),
    ('[[devices]]\nid = "d1"\ndriver = "modbas"\nprofile = "soil_probe"\ninterval_s = 60\n',
     "devices.0: Input tag 'modbas' found using 'driver' does not match any of the expected tags: 'modbus'"),
])
def test_a_drivers_options_are_checked_at_load_naming_file_line_and_key(
        tmp_path: Path, devices: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, devices)
    assert str(caught.value).startswith(f"{tmp_path / 'gateway.toml'}: ")
    assert message in str(caught.value)


LOAD_AND_BUILD = """
import sys
from pathlib import Path
from iotgw.gateway import build_sources, load_gateway_config
sources = build_sources(load_gateway_config(Path(sys.argv[1])).devices)
print(" ".join(sorted(m for m in sys.modules if m.startswith(("iotgw.", "pymodbus", "paho")))))
"""


def _modules(tmp_path: Path, devices: str) -> set[str]:
    path = tmp_path / "gateway.toml"
    path.write_text(HEADER + devices)
    result = subprocess.run([sys.executable, "-c", LOAD_AND_BUILD, str(path)], capture_output=True,
                            text=True, timeout=60, check=True)
    return set(result.stdout.split())


def test_a_modbus_only_gateway_loads_neither_the_simulators_nor_paho(tmp_path: Path) -> None:
    modbus = (ROOT / "gateway" / "drivers" / "modbus" / "sample.toml").read_text()
    loaded = _modules(tmp_path, modbus)
    assert "iotgw.gateway.drivers.modbus.source" in loaded and "pymodbus" in loaded
    assert not {m for m in loaded if m.startswith("iotgw.simulators")}, loaded
    assert "iotgw.gateway.drivers.mqtt_node.source" not in loaded
    simulated = (ROOT / "gateway" / "drivers" / "simulated" / "sample.toml").read_text()
    assert "iotgw.simulators.source" in _modules(tmp_path, modbus + "\n" + simulated)
