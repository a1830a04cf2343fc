"""Register decoding against pymodbus' own encoder (every type, word and byte order, bit
fields, coils), and the device library's map files: valid, named, errors with their line."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import pytest
from iotgw.devices import ConfigError
from iotgw.devices.profiles import PROFILES
from iotgw.devices.register_maps import (
    LIBRARY_DIR,
    Register,
    RegisterMap,
    UnknownModel,
    library,
    library_map,
    load_map,
    resolve_map,
)
from pydantic import ValidationError
from pymodbus.client import ModbusTcpClient

DATATYPE = ModbusTcpClient.DATATYPE
# type, a value that uses most bytes of it (a reading's value is a float: 64-bit integers are
# exact up to 2**53, which a kWh or litre counter does not reach)
VALUES = [("int16", -12_345), ("uint16", 54_321), ("int32", -1_234_567_890), ("uint32", 3_456_789_012),
          ("int64", -1_234_567_890_123_456), ("uint64", 8_765_432_109_876_543),
          ("float32", 230.5), ("float64", -1234.0078125)]


def _register(kind: str, words: str = "big", bytes_: str = "big", **extra: object) -> Register:
    return Register(quantity="active_power", address=0, type=kind, word_order=words, byte_order=bytes_,
                    unit="W", **extra)


def _swapped(registers: list[int]) -> list[int]:
    return [((w & 0xFF) << 8) | (w >> 8) for w in registers]


@pytest.mark.parametrize(("kind", "value", "words", "bytes_"),
                         [(k, v, w, b) for (k, v), w, b in itertools.product(
                             VALUES, ("big", "little"), ("big", "little"))])
def test_decoding_agrees_with_pymodbus_s_encoder(kind: str, value: float, words: str, bytes_: str) -> None:
    sent = ModbusTcpClient.convert_to_registers(value, DATATYPE[kind.upper()], word_order=words)
    if bytes_ == "little":
        sent = _swapped(sent)  # pymodbus has no byte order: a device that swaps bytes
    reg = _register(kind, words, bytes_)
    assert reg.size == len(sent)
    assert reg.decode(sent) == value
    assert reg.encode(value) == sent


def test_known_contents_of_the_usual_meter_orders() -> None:
    """230.5 is 0x43668000: ABCD, CDAB (word swap), BADC (byte swap), DCBA."""
    for words, bytes_, sent in (("big", "big", [0x4366, 0x8000]), ("little", "big", [0x8000, 0x4366]),
                                ("big", "little", [0x6643, 0x0080]), ("little", "little", [0x0080, 0x6643])):
        assert _register("float32", words, bytes_).decode(sent) == 230.5


def test_scale_and_offset() -> None:
    reg = Register(quantity="soil_temperature", address=1, type="int16", scale=0.1, offset=-5.0, unit="Cel")
    assert reg.decode([0xFF38]) == pytest.approx(-25.0)  # -200 * 0.1 - 5
    assert reg.encode(-25.0) == [0xFF38]


@pytest.mark.parametrize(("kind", "words"), [("uint16", "big"), ("uint32", "little"), ("int64", "big")])
def test_bit_fields_read_their_bits_and_share_registers(kind: str, words: str) -> None:
    width = 16 * {"uint16": 1, "uint32": 2, "int64": 4}[kind]
    whole = 0b1011_0110_0101 | 1 << (width - 1)  # and the top bit
    sent = ModbusTcpClient.convert_to_registers(whole - (1 << width if kind == "int64" else 0),
                                                DATATYPE[kind.upper()], word_order=words)
    low, high = (_register(kind, words, bit=0, bits=4),
                 Register(quantity="power_factor", address=0, type=kind, word_order=words, bit=4, bits=8,
                          unit="/", scale=1 / 255))
    assert low.decode(sent) == 0b0101
    assert high.decode(sent) == pytest.approx(0b1011_0110 / 255)
    top = Register(quantity="frequency", address=0, type=kind, word_order=words, bit=16 * low.size - 1,
                   unit="Hz", offset=49)
    assert top.decode(sent) == 50  # the sign bit of int64 is a bit like another
    assert low.decode(low.encode(0b1010, sent)) == 0b1010
    assert high.decode(low.encode(0b1010, sent)) == high.decode(sent)  # its neighbour's bits stay
    RegisterMap(vendor="T", model="T", profile="electricity_meter", datasheet=_DATASHEET,
                registers=[low, high])  # bit fields of one register, on different bits


def test_coils_and_discrete_inputs_are_bools() -> None:
    coil = Register(quantity="leak_alarm", function=1, address=7, unit="/")
    assert (coil.type, coil.size, coil.decode([1]), coil.decode([0])) == ("bool", 1, 1, 0)
    assert coil.encode(1.0) == [1]
    with pytest.raises(ValidationError, match="functions 1 and 2"):
        Register(quantity="leak_alarm", function=2, address=7, type="uint16", unit="/")
    with pytest.raises(ValidationError, match="functions 1 and 2"):
        Register(quantity="leak_alarm", function=3, address=7, type="bool", unit="/")


@pytest.mark.parametrize(("change", "message"), [
    ({"quantity": "voltage", "unit": "kV"}, "voltage is in V, not kV"),
    ({"quantity": "wind"}, "unknown quantity 'wind'"),
    ({"scale": 0}, "scale must not be 0"),
    ({"type": "float16"}, "Input should be"),
    ({"type": "float32", "bit": 0}, "a bit field needs an integer type"),
    ({"bit": 12, "bits": 8}, "bits 12..19 are beyond uint16"),
    ({"bits": 3}, "bits needs bit"),
])
def test_bad_registers_are_refused(change: dict, message: str) -> None:
    fields = {"quantity": "soil_ec", "address": 0, "unit": "uS/cm", **change}
    with pytest.raises(ValidationError, match=message):
        Register(**fields)


_DATASHEET = {"title": "Test datasheet", "version": "1", "url": "https://example.org/ds.pdf"}


def test_a_map_s_registers_are_of_its_profile_and_do_not_overlap() -> None:
    def meter(*registers: Register, profile: str = "electricity_meter") -> RegisterMap:
        return RegisterMap(vendor="T", model="T", profile=profile, datasheet=_DATASHEET,
                           registers=list(registers))

    with pytest.raises(ValidationError, match="share register 1"):
        meter(Register(quantity="voltage", address=0, type="float32", unit="V"),
              Register(quantity="current", address=1, unit="A"))
    with pytest.raises(ValidationError, match=r"\['soil_ec'\] are not quantities of profile electricity"):
        meter(Register(quantity="soil_ec", address=0, unit="uS/cm"))
    with pytest.raises(ValidationError, match="unknown device profile 'three_phase_meter'"):
        meter(Register(quantity="voltage", address=0, unit="V"), profile="three_phase_meter")
    coils = meter(Register(quantity="voltage", function=4, address=300, unit="V"),
                  Register(quantity="current", function=4, address=0, unit="A"),
                  Register(quantity="power_factor", function=1, address=1999, unit="/"),
                  Register(quantity="frequency", function=1, address=0, unit="Hz"))
    assert coils.blocks() == [(1, 0, 2000), (4, 0, 1), (4, 300, 1)]  # up to 2000 bits, 125 registers


def test_every_library_map_is_valid_named_after_its_model_and_cites_its_datasheet() -> None:
    maps = library()
    assert len(maps) == len(list(LIBRARY_DIR.glob("*.toml"))) >= 6
    for name, register_map in maps.items():
        assert name == register_map.name
        assert register_map.datasheet.url.startswith(("http://", "https://")), name
        assert {r.quantity for r in register_map.registers} <= set(PROFILES[register_map.profile].quantities)
    assert {m.profile for m in maps.values()} == {"electricity_meter", "soil_probe", "water_meter",
                                                  "weather_station"}
    assert maps["eastron_sdm630m"].blocks() == [(4, 42, 30), (4, 342, 2)]  # 0x2A..0x47; 0x156 too far
    assert {"soil_ph", "soil_nitrogen", "soil_phosphorus", "soil_potassium"} <= {
        r.quantity for r in maps["comwintop_cwt_soil_7in1"].registers}


def test_a_bad_map_file_is_refused_naming_its_file_and_line(tmp_path: Path) -> None:
    text = (LIBRARY_DIR / "eastron_sdm120m.toml").read_text()
    bad = tmp_path / "mine.toml"
    bad.write_text(text.replace('address = 0x0046\ntype = "float32"', 'address = 0x0046\ntype = "float24"'))
    line = bad.read_text().splitlines().index('type = "float24"') + 1
    with pytest.raises(ConfigError, match=rf"mine.toml: line {line}, registers.4.type: Input should be"):
        load_map(bad)
    misnamed = tmp_path / "library"
    misnamed.mkdir()
    (misnamed / "sdm120.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"sdm120\.toml: a map of Eastron SDM120M is named eastron_sdm120m"):
        library(misnamed)


def test_a_map_is_named_by_model_or_path(tmp_path: Path) -> None:
    assert resolve_map("eastron_sdm120m") == library_map("eastron_sdm120m")
    mine = tmp_path / "my_meter.toml"
    mine.write_text((LIBRARY_DIR / "eastron_sdm120m.toml").read_text().replace('"SDM120M"', '"My meter"'))
    assert resolve_map(str(mine)).model == "My meter"
    with pytest.raises(UnknownModel, match=r"no model 'sdm999' in the device library; known: .*eastron"):
        resolve_map("sdm999")


def test_float_rounding_is_the_device_s() -> None:
    """What a float32 register holds is the float32 nearest the value, nothing else."""
    reg = _register("float32")
    (expected,) = struct.unpack(">f", struct.pack(">f", 229.7))
    assert reg.decode(reg.encode(229.7)) == expected


def test_the_readme_s_example_map_is_valid(tmp_path: Path) -> None:
    readme = (LIBRARY_DIR / "README.md").read_text()
    example = readme.split("## Writing a map", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "acme_wm_50.toml"
    path.write_text(example)
    register_map = load_map(path)
    assert (register_map.name, register_map.profile) == ("acme_wm_50", "water_meter")
    assert [r.type for r in register_map.registers] == ["float32", "uint32", "uint16"]
