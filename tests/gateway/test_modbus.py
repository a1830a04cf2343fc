"""The Modbus driver against a pymodbus-served device: TCP on loopback, RTU over a
pseudo-terminal pair (Debian's socat), every data type and order, and a device that is
down, then back."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from iotgw.devices.register_maps import REGISTER_MAPS, Register, RegisterMap
from iotgw.gateway.config import DeviceConfig, ModbusLink
from iotgw.gateway.errors import DeviceReadError
from iotgw.gateway.modbus import ModbusSource
from iotgw.simulators.modbus_device import ModbusDeviceSimulator
from pymodbus.client import ModbusTcpClient

from iotgw.processes import free_port

pytestmark = pytest.mark.integration

# quantity, function, type, word order, byte order, value, the registers that carry it
ALL_KINDS = [
    ("soil_moisture", 3, "uint16", "big", "big", 4660.0, [0x1234]),
    ("soil_temperature", 3, "int16", "big", "little", -123.0, [0x85FF]),
    ("soil_ec", 3, "uint32", "big", "big", 100_000.0, [0x0001, 0x86A0]),
    ("air_temperature", 3, "int32", "little", "big", -100_000.0, [0x7960, 0xFFFE]),
    ("relative_humidity", 3, "uint32", "little", "little", 100_000.0, [0xA086, 0x0100]),
    ("pm2_5", 3, "int32", "big", "little", -100_000.0, [0xFEFF, 0x6079]),
    ("voltage", 4, "float32", "big", "big", 230.5, [0x4366, 0x8000]),
    ("current", 4, "float32", "little", "big", 230.5, [0x8000, 0x4366]),
    ("active_energy", 4, "float32", "big", "little", 230.5, [0x6643, 0x0080]),
    ("water_volume", 4, "float32", "little", "little", 230.5, [0x0080, 0x6643]),
    ("salinity", 4, "uint16", "big", "little", 4660.0, [0x3412]),
]
UNITS = {"soil_moisture": "%", "soil_temperature": "Cel", "soil_ec": "uS/cm", "air_temperature": "Cel",
         "relative_humidity": "%RH", "pm2_5": "ug/m3", "voltage": "V", "current": "A",
         "active_energy": "kWh", "water_volume": "m3", "salinity": "g/L"}


def _all_kinds_map() -> RegisterMap:
    registers, next_address = [], {3: 0, 4: 100}
    for quantity, function, kind, words, bytes_, _, contents in ALL_KINDS:
        registers.append(Register(quantity=quantity, address=next_address[function], function=function,
                                  type=kind, word_order=words, byte_order=bytes_, unit=UNITS[quantity]))
        next_address[function] += len(contents) + 1  # a gap between registers, as in real maps
    return RegisterMap(profile="all_kinds", registers=registers)


def _device(link: ModbusLink, profile: str = "all_kinds") -> DeviceConfig:
    return DeviceConfig(id="dev-1", driver="modbus", profile=profile, interval_s=1, modbus=link)


@pytest.fixture
def tcp_device() -> Iterator[tuple[int, RegisterMap]]:
    register_map, port = _all_kinds_map(), free_port()
    values = {q: v for q, *_, v, _ in ALL_KINDS}
    device = ModbusDeviceSimulator(register_map, lambda: values, unit_id=7, tcp_port=port)
    device.start()
    yield port, register_map
    device.stop()


def test_tcp_every_type_and_order_from_known_register_contents(tcp_device) -> None:
    port, register_map = tcp_device
    raw = ModbusTcpClient("127.0.0.1", port=port)
    assert raw.connect()
    for reg, (_, _, _, _, _, _, contents) in zip(register_map.registers, ALL_KINDS, strict=True):
        read = raw.read_holding_registers if reg.function == 3 else raw.read_input_registers
        assert read(reg.address, count=reg.size, device_id=7).registers == contents, reg.quantity
    raw.close()
    source = ModbusSource(_device(ModbusLink(host="127.0.0.1", port=port, unit_id=7)), register_map)
    assert register_map.blocks() == [(3, 0, 15), (4, 100, 13)]  # one request per table
    [reading] = source.read(1_763_800_000_000)
    assert reading.values == {q: v for q, *_, v, _ in ALL_KINDS}
    assert reading.ts == 1_763_800_000_000
    source.close()


def test_a_device_that_is_down_raises_then_is_read_when_back() -> None:
    port = free_port()
    meter = REGISTER_MAPS["three_phase_meter"]
    source = ModbusSource(_device(ModbusLink(host="127.0.0.1", port=port, timeout_s=0.5),
                                  profile="three_phase_meter"))
    with pytest.raises(DeviceReadError, match=re.escape(f"dev-1: cannot connect to 127.0.0.1:{port}")):
        source.read(1)
    device = ModbusDeviceSimulator(meter, lambda: {"voltage": 229.75, "current": 3.5,
                                                   "active_energy": 1234.5}, tcp_port=port)
    device.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                [reading] = source.read(2)
                assert reading.values == {"voltage": 229.75, "current": 3.5, "active_energy": 1234.5}
                break
            except DeviceReadError:
                assert time.monotonic() < deadline, "the driver did not reconnect"
                time.sleep(0.2)
        wrong_unit = ModbusSource(_device(ModbusLink(host="127.0.0.1", port=port, unit_id=9),
                                          profile="three_phase_meter"))
        with pytest.raises(DeviceReadError, match=re.escape("dev-1 at 127.0.0.1")):
            wrong_unit.read(3)
        wrong_unit.close()
    finally:
        source.close()
        device.stop()


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[tuple[str, str]]:
    a, b = str(tmp_path / "ttyA"), str(tmp_path / "ttyB")
    socat = subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not (Path(a).exists() and Path(b).exists()):
        assert socat.poll() is None, socat.stderr.read() if socat.stderr else ""
        assert time.monotonic() < deadline, "socat made no pseudo-terminals"
        time.sleep(0.05)
    yield a, b
    socat.terminate()
    socat.wait(10)


def test_rtu_over_a_pseudo_terminal_pair(pty_pair: tuple[str, str]) -> None:
    device_end, gateway_end = pty_pair
    probe = REGISTER_MAPS["soil_probe_3in1"]
    values = {"soil_moisture": 31.4, "soil_temperature": -2.5, "soil_ec": 870.0}
    device = ModbusDeviceSimulator(probe, lambda: values, unit_id=3, serial_port=device_end, baudrate=19200)
    device.start()
    source = ModbusSource(_device(ModbusLink(serial_port=gateway_end, baudrate=19200, unit_id=3),
                                  profile="soil_probe_3in1"))
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
