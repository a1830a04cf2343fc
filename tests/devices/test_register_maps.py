"""Register decoding against known register contents, for every type, word and byte order."""

from __future__ import annotations

import pytest
from iotgw.devices.register_maps import REGISTER_MAPS, Register, RegisterMap
from pydantic import ValidationError

# (type, word order, byte order, registers as a device sends them, value)
KNOWN = [
    ("uint16", "big", "big", [0x1234], 0x1234),
    ("uint16", "big", "little", [0x3412], 0x1234),
    ("int16", "big", "big", [0xFF85], -123),
    ("int16", "big", "little", [0x85FF], -123),
    ("uint32", "big", "big", [0x0001, 0x86A0], 100_000),
    ("uint32", "little", "big", [0x86A0, 0x0001], 100_000),
    ("uint32", "big", "little", [0x0100, 0xA086], 100_000),
    ("uint32", "little", "little", [0xA086, 0x0100], 100_000),
    ("int32", "big", "big", [0xFFFE, 0x7960], -100_000),
    ("int32", "little", "big", [0x7960, 0xFFFE], -100_000),
    ("float32", "big", "big", [0x4366, 0x8000], 230.5),  # IEEE 754: 0x43668000
    ("float32", "little", "big", [0x8000, 0x4366], 230.5),
    ("float32", "big", "little", [0x6643, 0x0080], 230.5),
    ("float32", "little", "little", [0x0080, 0x6643], 230.5),
]


@pytest.mark.parametrize(("kind", "words", "bytes_", "registers", "value"), KNOWN)
def test_known_contents_decode_and_encode_back(kind: str, words: str, bytes_: str,
                                               registers: list[int], value: float) -> None:
    quantity, unit = ("voltage", "V") if kind == "float32" else ("soil_ec", "uS/cm")
    reg = Register(quantity=quantity, address=0, type=kind, word_order=words, byte_order=bytes_,
                   unit=unit, offset=0.0)
    assert reg.decode(registers) == value
    assert reg.encode(value) == registers


def test_scale_and_offset() -> None:
    reg = Register(quantity="soil_temperature", address=1, type="int16", scale=0.1, offset=-5.0, unit="Cel")
    assert reg.decode([0xFF38]) == pytest.approx(-25.0)  # -200 * 0.1 - 5
    assert reg.encode(-25.0) == [0xFF38]


@pytest.mark.parametrize(("change", "message"), [
    ({"quantity": "voltage", "unit": "kV"}, "voltage is in V, not kV"),
    ({"quantity": "wind"}, "unknown quantity 'wind'"),
    ({"scale": 0}, "scale must not be 0"),
    ({"type": "float64"}, "Input should be"),
])
def test_bad_registers_are_refused(change: dict, message: str) -> None:
    fields = {"quantity": "soil_ec", "address": 0, "unit": "uS/cm", **change}
    with pytest.raises(ValidationError, match=message):
        Register(**fields)


def test_overlapping_registers_are_refused_and_blocks_cover_every_register() -> None:
    with pytest.raises(ValidationError, match="share register 1"):
        RegisterMap(profile="x", registers=[
            Register(quantity="voltage", address=0, type="float32", unit="V"),
            Register(quantity="current", address=1, unit="A")])
    meter = REGISTER_MAPS["three_phase_meter"]
    assert meter.blocks() == [(4, 0, 8), (4, 342, 2)]  # 0..7 in one read; 342 is too far
    assert REGISTER_MAPS["soil_probe_3in1"].blocks() == [(3, 0, 3)]


def test_the_issue_s_profiles_exist() -> None:
    assert {"three_phase_meter", "water_meter", "soil_probe_3in1", "weather_station"} <= set(REGISTER_MAPS)
