# Modbus RTU framing for a UART: a read-holding-registers request and its answer.
import struct


def crc16(data):
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def read_request(unit, function, address, count):
    frame = struct.pack(">BBHH", unit, function, address, count)
    return frame + struct.pack("<H", crc16(frame))


class ModbusError(Exception):
    pass


def parse_response(frame, unit, function, count):
    """The registers of an answer; raises ModbusError for a short, corrupt or error frame."""
    if len(frame) < 5:
        raise ModbusError("short frame (%d bytes)" % len(frame))
    if struct.unpack("<H", frame[-2:])[0] != crc16(frame[:-2]):
        raise ModbusError("CRC mismatch")
    if frame[0] != unit:
        raise ModbusError("answer from unit %d, asked %d" % (frame[0], unit))
    if frame[1] == function | 0x80:
        raise ModbusError("exception code %d" % frame[2])
    if frame[1] != function or frame[2] != 2 * count or len(frame) != 5 + 2 * count:
        raise ModbusError("unexpected answer")
    return list(struct.unpack(">%dH" % count, frame[3:3 + 2 * count]))


def decode(registers, table):
    """{quantity: value} from registers read from address 0, by a (quantity, address,
    signed, scale) table."""
    values = {}
    for quantity, address, signed, scale in table:
        raw = registers[address]
        if signed and raw >= 0x8000:
            raw -= 0x10000
        values[quantity] = round(raw * scale, 6)
    return values
