"""Frame parsers against known bytes: Modbus RTU's CRC and framing, PMS5003 frames."""

from __future__ import annotations

import struct

import pytest
from iotgw_node import contract, modbus_rtu, pms5003, readers
from iotgw_node.pulses import PulseCounter

from tests.firmware_stubs.fakes import FakeUart


def test_modbus_crc_and_request_match_the_specification_s_example() -> None:
    # Modbus over serial line guide: read 10 holding registers from 0 on unit 1 = 01 03 00 00 00 0A C5 CD
    assert modbus_rtu.read_request(1, 3, 0, 10) == bytes.fromhex("01030000000AC5CD")


def _answer(unit: int, registers: list[int]) -> bytes:
    body = struct.pack(">BBB", unit, 3, 2 * len(registers)) + struct.pack(f">{len(registers)}H", *registers)
    return body + struct.pack("<H", modbus_rtu.crc16(body))


def test_a_probe_s_answer_decodes_and_corruption_is_refused() -> None:
    frame = _answer(1, [0x013A, 0xFFE7, 0x0366])  # 31.4 %, -2.5 Cel, 870 uS/cm
    values = modbus_rtu.decode(modbus_rtu.parse_response(frame, 1, 3, 3), contract.SOIL_PROBE_REGISTERS)
    assert values == {"soil_moisture": 31.4, "soil_temperature": -2.5, "soil_ec": 870.0}
    corrupt = frame[:4] + bytes([frame[4] ^ 0x01]) + frame[5:]
    with pytest.raises(modbus_rtu.ModbusError, match="CRC"):
        modbus_rtu.parse_response(corrupt, 1, 3, 3)
    exception = bytes([1, 0x83, 2]) + struct.pack("<H", modbus_rtu.crc16(bytes([1, 0x83, 2])))
    with pytest.raises(modbus_rtu.ModbusError, match="exception code 2"):
        modbus_rtu.parse_response(exception, 1, 3, 3)
    with pytest.raises(modbus_rtu.ModbusError, match="short"):
        modbus_rtu.parse_response(b"\x01\x03", 1, 3, 3)


def pms_frame(pm25: int) -> bytes:
    """A frame laid out as in the PMS5003 datasheet: start 0x42 0x4D, length 28, 13 data
    words (PM1.0/2.5/10 standard, PM1.0/2.5/10 atmospheric, 6 particle counts, reserved),
    then the sum of all previous bytes."""
    data = [5, 8, 8, 5, pm25, 8, 909, 261, 35, 2, 0, 0, 0]
    body = b"\x42\x4d" + struct.pack(">H13H", 28, *data)
    return body + struct.pack(">H", sum(body))


def test_pms5003_frames_checksums_and_resynchronisation() -> None:
    assert pms5003.parse_frame(pms_frame(12)) == {"pm2_5": 12.0}
    bad = bytearray(pms_frame(12))
    bad[13] ^= 0xFF
    with pytest.raises(pms5003.FrameError, match="checksum"):
        pms5003.parse_frame(bytes(bad))
    # A stream that starts mid-frame, then a corrupt frame, then a good one.
    stream = FakeUart(stream=pms_frame(40)[7:] + bytes(bad) + pms_frame(21))
    assert pms5003.read_frame(stream) == {"pm2_5": 21.0}
    assert pms5003.read_frame(stream) is None


def test_pulses_are_counted_and_contact_bounce_is_not() -> None:
    counter = PulseCounter(total=100, debounce_ms=50)
    for at in (0, 10, 30, 200, 205, 1_000):  # two bounces after the first edge, one after the second
        counter.edge(at)
    assert (counter.total, counter.bounces) == (103, 3)
    assert readers.water_meter(counter.total, 2.5) == {"water_volume": 0.2575}
