"""``iotgw gateway test``: every configured device read once, as an installer runs it (a real
``python -m iotgw`` process), against a pymodbus-served meter of the device library and a
meter nobody answers for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from iotgw.devices import QUANTITIES
from iotgw.devices.register_maps import library
from iotgw.simulators.modbus_device import ModbusDeviceSimulator, map_values

from iotgw.processes import free_port
from tests.iotgw.test_cli import iotgw

pytestmark = pytest.mark.integration

AT = 1_764_400_000.0
MODEL = "eastron_sdm630m"


def _config(tmp_path: Path, good_port: int, dead_port: int) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'gateway_id = "gw-1"\n[buffer]\npath = "{tmp_path / "b.sqlite"}"\n\n'
        '[[devices]]\nid = "meter-ok"\ndriver = "modbus"\nprofile = "electricity_meter"\ninterval_s = 60\n'
        f'modbus = {{ host = "127.0.0.1", port = {good_port}, unit_id = 5, model = "{MODEL}" }}\n\n'
        '[[devices]]\nid = "meter-dead"\ndriver = "modbus"\nprofile = "electricity_meter"\ninterval_s = 60\n'
        f'modbus = {{ host = "127.0.0.1", port = {dead_port}, timeout_s = 0.5, model = "{MODEL}" }}\n')
    return path


@pytest.fixture
def meter() -> tuple[int, dict[str, float]]:
    """A served meter: its port, and the values the driver can read back (the registers'
    resolution, float32 precision)."""
    register_map, port = library()[MODEL], free_port()
    values = map_values(register_map, device_id="meter-ok", clock=lambda: AT)()
    device = ModbusDeviceSimulator(register_map, lambda: values, unit_id=5, tcp_port=port)
    device.start()
    yield port, {r.quantity: r.decode(r.encode(values[r.quantity])) for r in register_map.registers}
    device.stop()


def test_a_table_of_values_with_units_and_exit_1_for_the_dead_meter(
        tmp_path: Path, meter: tuple[int, dict[str, float]]) -> None:
    port, expected = meter
    dead = free_port()
    result = iotgw("gateway", "test", "--config", str(_config(tmp_path, port, dead)))
    print(result.stdout)  # the table, as the installer sees it (pytest -s)
    assert result.returncode == 1, result.stderr
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines()
            if line.startswith("│")]
    good = {row[1]: row for row in rows if row[0] == "meter-ok"}
    assert set(good) == set(expected)
    for quantity, value in expected.items():
        assert good[quantity][2:5] == [f"{value:g}", QUANTITIES[quantity].unit, "good"], good[quantity]
    [dead_row] = [row for row in rows if row[0] == "meter-dead"]
    assert dead_row[1:5] == ["", "", "", ""]
    assert f"cannot connect to 127.0.0.1:{dead}" in dead_row[5]


def test_json_and_one_device(tmp_path: Path, meter: tuple[int, dict[str, float]]) -> None:
    port, expected = meter
    config = _config(tmp_path, port, free_port())
    result = iotgw("gateway", "test", "--config", str(config), "--json")
    assert result.returncode == 1, result.stderr
    ok, dead = json.loads(result.stdout)
    assert (ok["device"], ok["ok"], dead["device"], dead["ok"]) == ("meter-ok", True, "meter-dead", False)
    [reading] = ok["readings"]
    assert reading["quality"] == "good"
    assert reading["values"] == {q: {"value": pytest.approx(v), "unit": QUANTITIES[q].unit}
                                 for q, v in expected.items()}
    assert "cannot connect" in dead["error"] and dead["readings"] == []
    only = iotgw("gateway", "test", "--config", str(config), "--device", "meter-ok", "--json")
    assert only.returncode == 0, only.stderr
    assert [d["device"] for d in json.loads(only.stdout)] == ["meter-ok"]
    unknown = iotgw("gateway", "test", "--config", str(config), "--device", "meter-3")
    assert unknown.returncode == 2
    assert "--device: no device meter-3" in unknown.stderr
