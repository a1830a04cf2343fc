# What each node reads: functions of the hardware layer returning {quantity: value}.
from iotgw_node import contract, modbus_rtu, pms5003


def soil_probe(uart, unit):
    """Read the 3-in-1 probe's three holding registers over RS-485 (Modbus RTU)."""
    count = len(contract.SOIL_PROBE_REGISTERS)
    uart.write(modbus_rtu.read_request(unit, 3, 0, count))
    frame = uart.read(5 + 2 * count) or b""
    registers = modbus_rtu.parse_response(frame, unit, 3, count)
    return modbus_rtu.decode(registers, contract.SOIL_PROBE_REGISTERS)


def air_quality(uart):
    values = pms5003.read_frame(uart)
    if values is None:
        raise OSError("no valid PMS5003 frame")
    return values


def water_meter(pulses, litres_per_pulse):
    """A running total in m3 from the pulse count kept across deep sleep."""
    return {"water_volume": round(pulses * litres_per_pulse / 1000.0, 6)}
