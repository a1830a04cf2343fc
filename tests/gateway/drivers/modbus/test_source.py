"""The Modbus driver against a pymodbus-served device: TCP on loopback, RTU over a
pseudo-terminal pair (Debian's socat), every data type, order, bit field and table from
user-written map files, and a device that is down, then back."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import tomli_w
from iotgw.devices import QUANTITIES
from iotgw.devices.register_maps import library_map, load_map
from iotgw.gateway.config import DeviceConfig, ModbusLink
from iotgw.gateway.drivers.modbus.source import ModbusSource
from iotgw.gateway.errors import DeviceReadError, GatewayError
from iotgw.simulators.modbus_device import ModbusDeviceSimulator
from pydantic import ValidationError
from pymodbus.client import ModbusTcpClient

from iotgw.processes import free_port
from tests import serial_line
from tests.iotgw.test_cli import iotgw

pytestmark = pytest.mark.integration
pty_pair = serial_line.pty_pair  # socat's two pseudo-terminals, one per end of the line

# Two models, as their users would write their map files: quantity, function, type, word
# order, byte order, bit field (first bit, width), value, the registers (or bit) that carry it
ALL_KINDS = {
    "weather_station": [
        ("relative_humidity", 3, "uint16", "big", "big", None, 4660.0, [0x1234]),
        ("air_temperature", 3, "int16", "big", "little", None, -123.0, [0x85FF]),
        ("air_pressure", 3, "uint32", "big", "big", None, 100_000.0, [0x0001, 0x86A0]),
        ("wind_speed", 3, "int32", "little", "big", None, -100_000.0, [0x7960, 0xFFFE]),
        ("rainfall", 4, "uint64", "big", "big", None, float(2**40 + 5), [0x0000, 0x0100, 0x0000, 0x0005]),
        ("wind_direction", 4, "float64", "little", "big", None, 230.5, [0x0000, 0x0000, 0xD000, 0x406C]),
        ("rain_detected", 1, "bool", "big", "big", None, 1.0, [1]),
        ("pm2_5", 2, "bool", "big", "big", None, 1.0, [1]),
    ],
    "electricity_meter": [
        ("voltage", 4, "float32", "big", "big", None, 230.5, [0x4366, 0x8000]),
        ("current", 4, "float32", "little", "big", None, 230.5, [0x8000, 0x4366]),
        ("active_energy", 4, "float32", "big", "little", None, 230.5, [0x6643, 0x0080]),
        ("active_power", 4, "int64", "little", "little", None, -2.0, [0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF]),
        ("frequency", 3, "uint16", "big", "big", (0, 8), 50.0, [0x0132]),  # two bit fields
        ("power_factor", 3, "uint16", "big", "big", (8, 8), 1.0, [0x0132]),  # of one register
    ],
}


def _map_file(directory: Path, profile: str) -> Path:
    """A user's map file: registers one after another with a gap, as in real maps."""
    registers, next_address = [], {1: 3, 2: 17, 3: 0, 4: 100}
    for quantity, function, kind, words, bytes_, field, _, contents in ALL_KINDS[profile]:
        registers.append({"quantity": quantity, "function": function, "type": kind,
                          "address": next_address[function], "unit": QUANTITIES[quantity].unit,
                          **({"word_order": words, "byte_order": bytes_} if function > 2 else {}),
                          **({"bit": field[0], "bits": field[1]} if field else {})})
        if not field or field[0]:
            next_address[function] += len(contents) + 1
    path = directory / f"all_kinds_{profile}.toml"
    path.write_text(tomli_w.dumps({
        "vendor": "Bench", "model": f"All kinds {profile}", "profile": profile,
        "datasheet": {"title": "made up for the test", "version": "1", "url": "https://example.org/x"},
        "registers": registers}))
    return path


def _device(link: ModbusLink, profile: str = "electricity_meter") -> DeviceConfig:
    return DeviceConfig(id="dev-1", driver="modbus", profile=profile, interval_s=1, modbus=link)


@pytest.mark.parametrize("profile", sorted(ALL_KINDS))
def test_tcp_every_type_order_bit_field_and_table_from_known_contents(tmp_path: Path, profile: str) -> None:
    path, port = _map_file(tmp_path, profile), free_port()
    register_map = load_map(path)
    values = {q: v for q, *_, v, _ in ALL_KINDS[profile]}
    device = ModbusDeviceSimulator(register_map, lambda: values, unit_id=7, tcp_port=port)
    device.start()
    try:
        raw = ModbusTcpClient("127.0.0.1", port=port)
        assert raw.connect()
        read = {1: raw.read_coils, 2: raw.read_discrete_inputs, 3: raw.read_holding_registers,
                4: raw.read_input_registers}
        for reg, (*_, contents) in zip(register_map.registers, ALL_KINDS[profile], strict=True):
            response = read[reg.function](reg.address, count=reg.size, device_id=7)
            sent = response.bits[:1] if reg.function < 3 else response.registers
            assert sent == contents, reg.quantity
        raw.close()
        source = ModbusSource(_device(ModbusLink(host="127.0.0.1", port=port, unit_id=7, map=path),
                                      profile))
        assert len(source.map.blocks()) == len({r.function for r in register_map.registers})
        [reading] = source.read(1_763_800_000_000)
        assert reading.values == values
        assert reading.ts == 1_763_800_000_000
        source.close()
    finally:
        device.stop()


def test_a_map_of_another_profile_or_an_unknown_model_is_refused(tmp_path: Path) -> None:
    link = ModbusLink(host="127.0.0.1", map=_map_file(tmp_path, "weather_station"))
    with pytest.raises(GatewayError, match=r"of profile electricity_meter, but its map .* serves weather"):
        ModbusSource(_device(link))
    broken = tmp_path / "broken.toml"
    broken.write_text(link.map.read_text().replace('type = "uint16"', 'type = "uint17"', 1))
    with pytest.raises(GatewayError, match=r"'dev-1': .*broken.toml: line \d+, registers.0.type"):
        ModbusSource(_device(ModbusLink(host="127.0.0.1", map=broken), "weather_station"))
    with pytest.raises(ValidationError, match="no model 'sdm999' in the device library"):
        ModbusLink(host="127.0.0.1", model="sdm999")
    with pytest.raises(ValidationError, match=r"give either model .* or map"):
        ModbusLink(host="127.0.0.1")


def test_a_device_that_is_down_raises_then_is_read_when_back() -> None:
    port = free_port()
    meter = library_map("eastron_sdm630m")
    source = ModbusSource(_device(ModbusLink(host="127.0.0.1", port=port, timeout_s=0.5,
                                             model="eastron_sdm630m")))
    with pytest.raises(DeviceReadError, match=re.escape(f"dev-1: cannot connect to 127.0.0.1:{port}")):
        source.read(1)
    values = {"voltage": 229.75, "current": 3.5, "active_energy": 1234.5, "active_power": 800.0,
              "power_factor": 0.5, "frequency": 50.0}
    device = ModbusDeviceSimulator(meter, lambda: values, tcp_port=port)
    device.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                [reading] = source.read(2)
                assert reading.values == values
                break
            except DeviceReadError:
                assert time.monotonic() < deadline, "the driver did not reconnect"
                time.sleep(0.2)
        wrong_unit = ModbusSource(_device(ModbusLink(host="127.0.0.1", port=port, unit_id=9,
                                                     model="eastron_sdm630m")))
        with pytest.raises(DeviceReadError, match=re.escape("dev-1 at 127.0.0.1")):
            wrong_unit.read(3)
        wrong_unit.close()
    finally:
        source.close()
        device.stop()


def test_rtu_over_a_pseudo_terminal_pair(pty_pair: tuple[str, str]) -> None:
    device_end, gateway_end = pty_pair
    probe = library_map("renke_rs_ecth_n01")
    values = {"soil_moisture": 31.4, "soil_temperature": -2.5, "soil_ec": 870.0}
    device = ModbusDeviceSimulator(probe, lambda: values, unit_id=3, serial_port=device_end, baudrate=19200)
    device.start()
    source = ModbusSource(_device(ModbusLink(serial_port=gateway_end, baudrate=19200, unit_id=3,
                                             model="renke_rs_ecth_n01"), profile="soil_probe"))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                [reading] = source.read(5)
                break
            except DeviceReadError:
                assert time.monotonic() < deadline, "no RTU answer"
                time.sleep(0.2)
        assert reading.values == pytest.approx(values)  # tenths: 31.4 and -2.5 exactly representable
        values["soil_moisture"] = 28.0  # the device's signal moves: the next read sees it
        assert source.read(6)[0].values["soil_moisture"] == pytest.approx(28.0)
    finally:
        source.close()
        device.stop()


def test_check_config_names_the_line_of_a_bad_map_file(tmp_path: Path) -> None:
    mine = _map_file(tmp_path, "weather_station")
    config = tmp_path / "gw.toml"
    config.write_text('gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n[[devices]]\nid = "d1"\n'
                      f'driver = "modbus"\nprofile = "weather_station"\ninterval_s = 60\n'
                      f'modbus = {{ host = "10.0.0.5", map = "{mine}" }}\n')
    assert iotgw("gateway", "check-config", "--config", str(config)).returncode == 0
    text = mine.read_text()
    mine.write_text(text.replace('unit = "hPa"', 'unit = "mbar"'))
    headers = [n for n, row in enumerate(mine.read_text().splitlines(), 1) if row == "[[registers]]"]
    line = headers[2]  # the register's table: the error is of the register as a whole
    result = iotgw("gateway", "check-config", "--config", str(config))
    assert result.returncode == 2
    assert (f"{mine}: line {line}, registers.2: Value error, air_pressure is in hPa, not mbar"
            in " ".join(result.stderr.split())), result.stderr
