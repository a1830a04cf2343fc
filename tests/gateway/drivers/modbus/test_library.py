"""Every map of the device library, end to end: a pymodbus device serves the map, the
gateway agent's Modbus driver reads it, and the reading goes through the real broker and
ingest into influxd. And a map written by a user, named by path in a gateway config file,
used without a line of code."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import tomli_w
from iotgw.devices.register_maps import RegisterMap, library, load_map
from iotgw.gateway.config import BrokerConfig, load_gateway_config
from iotgw.simulators.modbus_device import ModbusDeviceSimulator, map_values

from iotgw.processes import free_port
from tests.e2e.spine import Spine

pytestmark = pytest.mark.integration

AT = 1_764_400_000.0  # the moment whose signal values each device serves, fixed


def _expected(register_map: RegisterMap, values: dict[str, float]) -> dict[str, float]:
    """What the driver can read back: the value as the registers hold it (rounded to the
    register's resolution, float32 precision)."""
    return {r.quantity: r.decode(r.encode(values[r.quantity])) for r in register_map.registers}


def _read_through_the_spine(spine: Spine, register_map: RegisterMap, config_text: str,
                            values: dict[str, float], port: int) -> dict:
    device = ModbusDeviceSimulator(register_map, lambda: values, unit_id=5, tcp_port=port)
    device.start()
    try:
        spine.start_ingest()
        path = spine.workdir / "gateway.toml"
        path.write_text(config_text)
        cfg = load_gateway_config(path).model_copy(
            update={"broker": BrokerConfig(host=spine.broker.host, port=spine.broker.port)})
        spine.start_gateway(cfg)
        spine.wait_until(lambda: len(spine.stored().get(f"{spine.name}-d", [])) >= 2,
                         what="two readings of the Modbus device stored")
        return spine.stored()[f"{spine.name}-d"][-1]
    finally:
        device.stop()


def _config(spine: Spine, profile: str, port: int, map_line: str) -> str:
    return (f'gateway_id = "{spine.name}-gw"\n[buffer]\npath = "{spine.workdir / "b.sqlite"}"\n\n'
            f'[[devices]]\nid = "{spine.name}-d"\ndriver = "modbus"\nprofile = "{profile}"\n'
            f'interval_s = 0.2\n[devices.modbus]\nhost = "127.0.0.1"\nport = {port}\nunit_id = 5\n'
            f'{map_line}\n')


@pytest.mark.parametrize("model", sorted(library()))
def test_each_library_map_is_read_into_influxdb(spine: Spine, model: str) -> None:
    register_map, port = library()[model], free_port()
    values = map_values(register_map, device_id=model, clock=lambda: AT)()
    row = _read_through_the_spine(spine, register_map,
                                  _config(spine, register_map.profile, port, f'model = "{model}"'),
                                  values, port)
    expected = _expected(register_map, values)
    assert {q: row[q] for q in expected} == pytest.approx(expected, rel=1e-12)
    assert not any(math.isclose(v, 0.0) for v in expected.values()), \
        "a value of 0 would not show a register read at the wrong place"


def test_a_user_s_own_map_file_is_used_without_code(spine: Spine, tmp_path: Path) -> None:
    """A weather station of no library model, with a coil, a discrete input and two bit
    fields of one status register beside its scaled values."""
    mine = tmp_path / "my_station.toml"
    mine.write_text(tomli_w.dumps({
        "vendor": "Acme", "model": "WS-1", "profile": "weather_station",
        "datasheet": {"title": "Acme WS-1 Modbus manual", "version": "1.2",
                      "url": "https://example.org/ws1.pdf"},
        "registers": [
            {"quantity": "air_temperature", "function": 4, "address": 10, "type": "int16",
             "scale": 0.1, "unit": "Cel"},
            {"quantity": "relative_humidity", "function": 4, "address": 11, "scale": 0.1, "unit": "%RH"},
            {"quantity": "air_pressure", "function": 3, "address": 0, "type": "uint32",
             "word_order": "little", "scale": 0.01, "unit": "hPa"},
            {"quantity": "wind_speed", "function": 3, "address": 4, "bit": 0, "bits": 10,
             "scale": 0.1, "unit": "m/s"},
            {"quantity": "wind_direction", "function": 3, "address": 4, "bit": 10, "bits": 3,
             "scale": 45, "unit": "deg"},
            {"quantity": "rain_detected", "function": 2, "address": 3, "unit": "/"},
            {"quantity": "pm2_5", "function": 1, "address": 0, "unit": "ug/m3", "scale": 5},
        ]}))
    values = {"air_temperature": 31.4, "relative_humidity": 77.5, "air_pressure": 1008.25,
              "wind_speed": 4.2, "wind_direction": 270.0, "rain_detected": 1.0, "pm2_5": 5.0}
    port = free_port()
    row = _read_through_the_spine(spine, load_map(mine),
                                  _config(spine, "weather_station", port, f'map = "{mine}"'), values, port)
    assert {q: row[q] for q in values} == pytest.approx(values)
