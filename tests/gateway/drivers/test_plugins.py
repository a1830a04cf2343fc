"""Every driver in the table is a whole plugin (options, source factory, README, sample
config), its options are checked when the file is loaded, and a field gateway loads the
code of the drivers it configures and no other."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from iotgw.devices import ConfigError
from iotgw.gateway.drivers import DRIVERS, driver_module

from tests.gateway.drivers import samples


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_each_driver_is_a_plugin_whose_sample_loads_and_is_its_readme(tmp_path: Path, name: str) -> None:
    module = driver_module(name)
    assert typing.get_args(module.Options.model_fields["driver"].annotation) == (name,)
    assert callable(module.make_source)
    text = samples.sample(name).read_text()
    assert f"```toml\n{text}```" in (samples.sample(name).parent / "README.md").read_text()
    [device] = samples.load(tmp_path, text).devices
    assert device.driver == name and isinstance(device, module.Options)
    assert (samples.ROOT / "tests" / "gateway" / "drivers" / name).is_dir()


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
        samples.load(tmp_path, devices)
    assert str(caught.value).startswith(f"{tmp_path / 'gateway.toml'}: ")
    assert message in str(caught.value)


def test_a_modbus_only_gateway_loads_neither_the_simulators_nor_paho(tmp_path: Path) -> None:
    modbus = samples.sample("modbus").read_text()
    loaded = samples.loaded_modules(tmp_path, modbus)
    assert "iotgw.gateway.drivers.modbus.source" in loaded and "pymodbus" in loaded
    assert not {m for m in loaded if m.startswith("iotgw.simulators")}, loaded
    assert "iotgw.gateway.drivers.mqtt_node.source" not in loaded
    simulated = samples.sample("simulated").read_text()
    assert "iotgw.simulators.source" in samples.loaded_modules(tmp_path, modbus + "\n" + simulated)
