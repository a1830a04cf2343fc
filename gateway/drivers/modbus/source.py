"""The Modbus driver: a device's ``[devices.modbus]`` section names its register map, a
model of the device library (``model = "eastron_sdm630m"``) or a map file of the user's
own (``map = "/etc/iotgw/my_meter.toml"``), see ``devices/register_maps.py``. Each read
fetches the map's coils and registers in as few requests as cover them, over TCP or RTU
(serial), with pymodbus, and decodes them into one reading.

A failed read (no answer within ``timeout_s``, a refused connection, a Modbus exception)
raises ``DeviceReadError``: the agent counts it and tries again at the next turn; pymodbus
reconnects by itself. Readings are stamped by the agent at read time.
"""

from __future__ import annotations

from iotgw.devices import ConfigError, Reading
from iotgw.devices.register_maps import RegisterMap, UnknownModel, library_map, load_map
from iotgw.gateway.config import DeviceConfig
from iotgw.gateway.drivers.modbus.options import ModbusLink, Options
from iotgw.gateway.errors import DeviceReadError, GatewayError
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException


def device_map(device_id: str, profile: str, link: ModbusLink) -> RegisterMap:
    """The register map ``link`` names, checked to serve the device's profile.

    Raises: GatewayError naming the device and, for a map file, its line.
    """
    try:
        register_map = load_map(link.map) if link.map is not None else library_map(str(link.model))
    except (ConfigError, UnknownModel) as exc:
        raise GatewayError(f"device {device_id!r}: {exc.args[0]}") from exc
    if register_map.profile != profile:
        raise GatewayError(f"device {device_id!r} is of profile {profile}, but its map"
                           f" ({register_map.vendor} {register_map.model}) serves {register_map.profile}")
    return register_map


class ModbusSource:
    finished = False  # a real device never is
    pushed = False

    def __init__(self, device: DeviceConfig, register_map: RegisterMap | None = None) -> None:
        """``register_map``: instead of the one the device's configuration names (tests)."""
        if not isinstance(device, Options):
            raise GatewayError(f"device {device.id!r} is not configured for the modbus driver")
        link = device.modbus
        self.device_id = device.id
        self.interval_s = device.interval_s
        self.map: RegisterMap = register_map or device_map(device.id, device.profile, link)
        self._blocks = self.map.blocks()
        self._unit = link.unit_id
        if link.host is not None:
            self._client: ModbusTcpClient | ModbusSerialClient = ModbusTcpClient(
                link.host, port=link.port, timeout=link.timeout_s, retries=0)
            self._where = f"{link.host}:{link.port}"
        else:
            assert link.serial_port is not None
            self._client = ModbusSerialClient(link.serial_port, baudrate=link.baudrate,
                                              parity=link.parity, timeout=link.timeout_s, retries=0)
            self._where = link.serial_port

    def _read(self, function: int, first: int, count: int) -> list[int]:
        """``count`` registers, or bits as 0 and 1, from ``first``."""
        read = {1: self._client.read_coils, 2: self._client.read_discrete_inputs,
                3: self._client.read_holding_registers, 4: self._client.read_input_registers}[function]
        try:
            response = read(first, count=count, device_id=self._unit)
        except ModbusException as exc:
            self._client.close()
            raise DeviceReadError(f"device {self.device_id} at {self._where}: {exc}") from exc
        if response.isError():
            raise DeviceReadError(f"device {self.device_id} at {self._where}: function {function}"
                                  f" from {first}: {response}")
        return [int(b) for b in response.bits[:count]] if function in (1, 2) else response.registers

    def _words(self) -> dict[tuple[int, int], int]:
        """Register (or bit) contents by (function, address)."""
        if not self._client.connected and not self._client.connect():
            raise DeviceReadError(f"device {self.device_id}: cannot connect to {self._where}")
        words = {}
        for function, first, count in self._blocks:
            words.update({(function, first + i): w
                          for i, w in enumerate(self._read(function, first, count))})
        return words

    def read(self, now_ms: int) -> list[Reading]:
        words = self._words()
        values = {reg.quantity: reg.decode([words[reg.function, a]
                                            for a in range(reg.address, reg.address + reg.size)])
                  for reg in self.map.registers}
        return [Reading(device=self.device_id, ts=now_ms, values=values)]

    def committed(self) -> None:
        return None

    def checkpoint(self) -> str:
        return ""  # a device keeps its own state

    def restore(self, checkpoint: str) -> None:
        return None

    def close(self) -> None:
        self._client.close()
