"""A Modbus device, served by pymodbus, for the gateway's real Modbus driver to read, and
for bench tests of real RS-485 adapters (``iotgw sim modbus``).

It answers with a register map (``devices.register_maps``: a model of the device library
or a user's map file) holding the values that ``values()`` returns at the moment of each
request, so a driver polling it sees the signal move: coils and discrete inputs as well
as holding and input registers. Modbus TCP, or RTU on a serial port (tests use one end of
a pseudo-terminal pair made by ``socat``).
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping

from iotgw.devices import QUANTITIES, Kind
from iotgw.devices.register_maps import BIT_FUNCTIONS, RegisterMap
from iotgw.simulators.signals import SIGNALS
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simutils import SimUtils

Values = Callable[[], Mapping[str, float]]

# Level and daily swing of the quantities that no signal model gives (signals.py models
# each profile's main quantities): a field-plausible value for a bench test.
_TYPICAL: dict[str, tuple[float, float]] = {
    "soil_ph": (6.2, 0.2), "soil_nitrogen": (120, 15), "soil_phosphorus": (35, 5),
    "soil_potassium": (180, 20), "current": (2.0, 1.3), "active_power": (450, 300),
    "frequency": (50.0, 0.05), "power_factor": (0.92, 0.03), "water_flow": (0.6, 0.5),
    "wind_speed": (2.5, 1.5), "wind_direction": (160, 90), "air_pressure": (1009, 3),
    "rainfall": (0.2, 0.15), "rain_detected": (0.3, 0.5), "leak_alarm": (0, 0),
    "insect_count": (12, 8),
}


def _typical(quantity: str, ts_ms: int, rng: random.Random) -> float:
    """A quantity's value at ``ts_ms``: its daily cycle, a little noise, within its range;
    a counter grows by the level per hour."""
    spec = QUANTITIES[quantity]
    level, swing = _TYPICAL.get(quantity, ((spec.minimum + spec.maximum) / 2, 0.0))
    hours = ts_ms / 3_600_000
    if spec.kind is Kind.COUNTER:
        return round(level * hours, 3)
    value = level + swing * math.cos(2 * math.pi * (hours + 7 - 14) / 24) + rng.gauss(0, swing / 20)
    value = min(spec.maximum, max(spec.minimum, value))
    return float(round(value)) if (spec.minimum, spec.maximum) == (0, 1) else round(value, 3)


def map_values(register_map: RegisterMap, device_id: str = "sim", seed: int = 0,
               clock: Callable[[], float] = time.time) -> Values:
    """Plausible values of the map's quantities, moving with ``clock``: the profile's signal
    model (``simulators/signals.py``) where it has one, typical levels for the rest."""
    signal = SIGNALS.get(register_map.profile)

    def values() -> dict[str, float]:
        ts_ms = int(clock() * 1000)
        modelled = signal(device_id, seed, ts_ms) if signal else {}
        rng = random.Random(f"{seed}:{device_id}:{ts_ms}")
        return {r.quantity: modelled[r.quantity] if r.quantity in modelled
                else _typical(r.quantity, ts_ms, rng) for r in register_map.registers}

    return values


class ModbusDeviceSimulator:
    def __init__(self, register_map: RegisterMap, values: Values, *, unit_id: int = 1,
                 tcp_port: int | None = None, serial_port: str | None = None,
                 baudrate: int = 9600, host: str = "127.0.0.1") -> None:
        if (tcp_port is None) == (serial_port is None):
            raise ValueError("give either tcp_port or serial_port")
        self.map, self.values, self.unit_id = register_map, values, unit_id
        self.tcp_port, self.serial_port, self.baudrate, self.host = tcp_port, serial_port, baudrate, host
        self._loop = asyncio.new_event_loop()
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modbus-device", daemon=True)

    def _block(self, function: int) -> list[SimData]:
        """One table, from address 0 to past the map's last register (or bit) of it."""
        size = max((r.address + r.size for r in self.map.registers if r.function == function),
                   default=1)
        if function in BIT_FUNCTIONS:
            return [SimData(0, count=16 * (size // 16 + 1), values=False, datatype=DataType.BITS)]
        return [SimData(0, count=size, values=0, datatype=DataType.REGISTERS)]

    async def _on_request(self, function: int, start: int, _address: int, _count: int,
                          registers: list[int], _set_values: object) -> None:
        """Before each read: the registers of that table take the current values. A table
        of bits is 16 to a register (bit 0: the lowest address)."""
        current = self.values()
        mine = [r for r in self.map.registers if r.function == function and r.quantity in current]
        if function in BIT_FUNCTIONS:
            bits = SimUtils.registersToBits(registers)
            for reg in mine:
                bits[reg.address - 16 * start] = bool(reg.encode(current[reg.quantity])[0])
            registers[:] = SimUtils.bitsToRegisters(bits)
            return
        for reg in mine:
            first = reg.address - start
            registers[first:first + reg.size] = reg.encode(current[reg.quantity],
                                                           registers[first:first + reg.size])

    async def _serve(self) -> None:
        device = SimDevice(id=self.unit_id, simdata=tuple(self._block(f) for f in (1, 2, 3, 4)),
                           action=self._on_request, use_bit_addressing=True)
        if self.tcp_port is not None:
            self._server = ModbusTcpServer(device, address=(self.host, self.tcp_port))
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
        probe = "127.0.0.1" if self.host in ("0.0.0.0", "") else "::1" if self.host == "::" else self.host
        while self.tcp_port is not None:
            try:
                socket.create_connection((probe, self.tcp_port), timeout=0.2).close()
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


def serve_until(device: ModbusDeviceSimulator, duration_s: float | None) -> None:
    """Serve until ``duration_s`` has passed (None: until interrupted, Ctrl-C)."""
    device.start()
    try:
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))
    except KeyboardInterrupt:
        pass
    finally:
        device.stop()
