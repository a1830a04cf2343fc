"""``iotgw sim modbus``: a map served with moving, plausible values, over Modbus TCP and
over a serial line (one end of a pseudo-terminal pair, as a USB RS-485 adapter would be),
read by the gateway's own Modbus driver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from iotgw.devices import QUANTITIES, Reading
from iotgw.devices.register_maps import LIBRARY_DIR
from iotgw.gateway.config import DeviceConfig, ModbusLink
from iotgw.gateway.drivers.modbus.source import ModbusSource
from iotgw.gateway.errors import DeviceReadError

from iotgw.processes import IotgwProcess, free_port
from tests import serial_line
from tests.iotgw.test_cli import iotgw

pytestmark = pytest.mark.integration
pty_pair = serial_line.pty_pair  # socat's two pseudo-terminals, one per end of the line


def _serve(tmp_path: Path, *args: str) -> Iterator[IotgwProcess]:
    proc = IotgwProcess(tmp_path, "sim-modbus", ["sim", "modbus", *args], ready_line="serving on")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _readings(link: ModbusLink, profile: str, count: int) -> list[Reading]:
    """``count`` readings, a little apart, once the device answers (deadline 20 s)."""
    source = ModbusSource(DeviceConfig(id="bench", driver="modbus", profile=profile, interval_s=1,
                                       modbus=link))
    out: list[Reading] = []
    deadline = time.monotonic() + 20
    try:
        while len(out) < count:
            try:
                out.extend(source.read(len(out) + 1))
                time.sleep(0.05)
            except DeviceReadError:
                assert time.monotonic() < deadline, "the simulated device never answered"
                time.sleep(0.2)
    finally:
        source.close()
    return out


def _plausible_and_moving(readings: list[Reading]) -> None:
    for reading in readings:
        for quantity, value in reading.values.items():
            assert QUANTITIES[quantity].in_range(value), (quantity, value)
    assert readings[0].values != readings[-1].values, "the served values do not move"


def test_a_library_model_over_tcp(tmp_path: Path) -> None:
    port = free_port()
    for _ in _serve(tmp_path, "--map", "eastron_sdm630m", "--port", str(port), "--unit-id", "4"):
        readings = _readings(ModbusLink(host="127.0.0.1", port=port, unit_id=4, model="eastron_sdm630m"),
                             "electricity_meter", 5)
        assert set(readings[0].values) == {"voltage", "current", "active_power", "power_factor",
                                           "frequency", "active_energy"}
        _plausible_and_moving(readings)


def test_a_map_file_over_a_serial_line(tmp_path: Path, pty_pair: tuple[str, str]) -> None:
    device_end, gateway_end = pty_pair
    mine = tmp_path / "my_probe.toml"
    mine.write_text((LIBRARY_DIR / "comwintop_cwt_soil_7in1.toml").read_text()
                    .replace('"CWT Soil 7in1"', '"Bench probe"'))
    for _ in _serve(tmp_path, "--map", str(mine), "--serial", device_end, "--baudrate", "19200"):
        readings = _readings(ModbusLink(serial_port=gateway_end, baudrate=19200, map=mine), "soil_probe", 4)
        assert len(readings[0].values) == 7
        _plausible_and_moving(readings)


@pytest.mark.parametrize(("args", "message"), [
    (["--map", "eastron_sdm630m"], "give either --port (Modbus TCP) or --serial"),
    (["--map", "sdm999", "--port", "5020"], "no model 'sdm999' in the device library"),
    (["--map", "/nonexistent/my.toml", "--port", "5020"], "/nonexistent/my.toml: cannot read"),
])
def test_bad_options_are_named(args: list[str], message: str) -> None:
    result = iotgw("sim", "modbus", *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split()), result.stderr
