"""The Modbus driver: a device's profile names its register map (``devices.register_maps``);
each read fetches the map's registers in as few requests as cover them, over TCP or RTU
(serial), with pymodbus, and decodes them into one reading.

A failed read (no answer within ``timeout_s``, a refused connection, a Modbus exception)
raises ``DeviceReadError``: the agent counts it and tries again at the next turn; pymodbus
reconnects by itself. Readings are stamped by the agent at read time.
"""

from __future__ import annotations

from iotgw.devices import Reading
from iotgw.devices.register_maps import REGISTER_MAPS, RegisterMap
from iotgw.gateway.config import DeviceConfig
from iotgw.gateway.errors import DeviceReadError, GatewayError
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException


class ModbusSource:
    finished = False  # a real device never is
    pushed = False

    def __init__(self, device: DeviceConfig, register_map: RegisterMap | None = None) -> None:
        """``register_map``: for a device of no known profile; by default, the profile's."""
        link = device.modbus
        if link is None:
            raise GatewayError(f"device {device.id!r}: the modbus driver needs a [devices.modbus] section")
        register_map = register_map or REGISTER_MAPS.get(device.profile)
        if register_map is None:
            raise GatewayError(f"device {device.id!r}: no register map for profile {device.profile!r};"
                               f" known: {sorted(REGISTER_MAPS)}")
        self.device_id = device.id
        self.interval_s = device.interval_s
        self.map: RegisterMap = register_map
        self._blocks = register_map.blocks()
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

    def _words(self) -> dict[tuple[int, int], int]:
        """Register contents by (function, address)."""
        if not self._client.connected and not self._client.connect():
            raise DeviceReadError(f"device {self.device_id}: cannot connect to {self._where}")
        words = {}
        for function, first, count in self._blocks:
            read = (self._client.read_holding_registers if function == 3
                    else self._client.read_input_registers)
            try:
                response = read(first, count=count, device_id=self._unit)
            except ModbusException as exc:
                self._client.close()
                raise DeviceReadError(f"device {self.device_id} at {self._where}: {exc}") from exc
            if response.isError():
                raise DeviceReadError(f"device {self.device_id} at {self._where}: function {function}"
                                      f" from {first}: {response}")
            words.update({(function, first + i): w for i, w in enumerate(response.registers)})
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
