"""A Modbus device, served by pymodbus, for the gateway's real Modbus driver to read.

It answers with a profile's register map (``devices.register_maps``) holding the values
that ``values()`` returns at the moment of each request, so a driver polling it sees the
signal move. Modbus TCP on a loopback port, or RTU on a serial port (tests use one end of
a pseudo-terminal pair made by ``socat``).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Mapping

from iotgw.devices.register_maps import RegisterMap
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

Values = Callable[[], Mapping[str, float]]


class ModbusDeviceSimulator:
    def __init__(self, register_map: RegisterMap, values: Values, *, unit_id: int = 1,
                 tcp_port: int | None = None, serial_port: str | None = None,
                 baudrate: int = 9600) -> None:
        if (tcp_port is None) == (serial_port is None):
            raise ValueError("give either tcp_port or serial_port")
        self.map, self.values, self.unit_id = register_map, values, unit_id
        self.tcp_port, self.serial_port, self.baudrate = tcp_port, serial_port, baudrate
        self._loop = asyncio.new_event_loop()
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modbus-device", daemon=True)

    def _block(self, function: int) -> list[SimData]:
        size = max((r.address + r.size for r in self.map.registers if r.function == function),
                   default=1)
        return [SimData(0, count=size, values=0, datatype=DataType.REGISTERS)]

    async def _on_request(self, function: int, start: int, _address: int, _count: int,
                          registers: list[int], _set_values: object) -> None:
        """Before each read: the registers of that table take the current values."""
        current = self.values()
        for reg in self.map.registers:
            if reg.function == function and reg.quantity in current:
                first = reg.address - start
                registers[first:first + reg.size] = reg.encode(current[reg.quantity])

    async def _serve(self) -> None:
        bits = [SimData(0, count=1, values=False, datatype=DataType.BITS)]
        device = SimDevice(id=self.unit_id, simdata=(bits, bits, self._block(3), self._block(4)),
                           action=self._on_request)
        if self.tcp_port is not None:
            self._server = ModbusTcpServer(device, address=("127.0.0.1", self.tcp_port))
        else:
            self._server = ModbusSerialServer(device, port=self.serial_port, baudrate=self.baudrate)
        self._ready.set()
        await self._server.serve_forever()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    def start(self, timeout_s: float = 10.0) -> None:
        """Returns once the device answers (TCP: accepts connections)."""
        deadline = time.monotonic() + timeout_s
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the Modbus device simulator did not start")
        while self.tcp_port is not None:
            try:
                socket.create_connection(("127.0.0.1", self.tcp_port), timeout=0.2).close()
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Modbus device simulator is not listening on"
                                       f" {self.tcp_port}") from exc
                time.sleep(0.02)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(timeout_s)
        self._thread.join(timeout_s)
