"""Modbus register maps of the device profiles: where each quantity lives and how it is
encoded. The gateway's Modbus driver reads with them, the Modbus device simulator serves
with them, and the firmware stubs carry a copy (tests check the copies match).

A register holds 16 bits. 32-bit values span two registers: ``word_order = "big"`` puts
the high word first (Modbus' usual convention), ``"little"`` the low word first (common
in meters). ``byte_order = "little"`` swaps the two bytes within each register (rare,
but it exists). ``value = raw * scale + offset``, in the quantity's unit.

Decoding is done here with ``struct``, not by pymodbus' converters, so that word and byte
order mean exactly what this docstring says.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Annotated, Literal

from iotgw.devices.quantities import QUANTITIES
from pydantic import BaseModel, ConfigDict, Field, model_validator

DataType = Literal["int16", "uint16", "int32", "uint32", "float32"]
_FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}


class Register(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: str
    address: Annotated[int, Field(ge=0, le=65_534)]
    function: Literal[3, 4] = 3  # 3: holding registers, 4: input registers
    type: DataType = "uint16"
    word_order: Literal["big", "little"] = "big"
    byte_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    offset: float = 0.0
    unit: str

    @model_validator(mode="after")
    def _known_quantity_in_its_unit(self) -> Register:
        quantity = QUANTITIES.get(self.quantity)
        if quantity is None:
            raise ValueError(f"unknown quantity {self.quantity!r}; known: {sorted(QUANTITIES)}")
        if self.unit != quantity.unit:
            raise ValueError(f"{self.quantity} is in {quantity.unit}, not {self.unit}")
        if self.scale == 0:
            raise ValueError("scale must not be 0")
        return self

    @property
    def size(self) -> int:
        """How many registers the value spans."""
        return 1 if self.type.endswith("16") else 2

    def _bytes(self, words: Sequence[int]) -> bytes:
        ordered = list(words) if self.word_order == "big" else list(reversed(words))
        out = b"".join(w.to_bytes(2, "big") for w in ordered)
        return out if self.byte_order == "big" else b"".join(
            out[i:i + 2][::-1] for i in range(0, len(out), 2))

    def decode(self, words: Sequence[int]) -> float:
        """The value of the register contents ``words`` (``size`` of them)."""
        if len(words) != self.size:
            raise ValueError(f"{self.quantity}: {self.type} needs {self.size} registers, got {len(words)}")
        (raw,) = struct.unpack(_FORMATS[self.type], self._bytes(words))
        return raw * self.scale + self.offset

    def encode(self, value: float) -> list[int]:
        """The register contents that decode to ``value`` (rounded for integer types)."""
        raw = (value - self.offset) / self.scale
        packed = struct.pack(_FORMATS[self.type], raw if self.type == "float32" else round(raw))
        if self.byte_order == "little":
            packed = b"".join(packed[i:i + 2][::-1] for i in range(0, len(packed), 2))
        words = [int.from_bytes(packed[i:i + 2], "big") for i in range(0, len(packed), 2)]
        return words if self.word_order == "big" else list(reversed(words))


class RegisterMap(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str
    registers: Annotated[list[Register], Field(min_length=1)]

    @model_validator(mode="after")
    def _no_overlap(self) -> RegisterMap:
        taken: dict[tuple[int, int], str] = {}
        for reg in self.registers:
            for address in range(reg.address, reg.address + reg.size):
                other = taken.setdefault((reg.function, address), reg.quantity)
                if other != reg.quantity:
                    raise ValueError(f"{reg.quantity} and {other} share register {address} "
                                     f"(function {reg.function})")
        quantities = [r.quantity for r in self.registers]
        if len(set(quantities)) != len(quantities):
            raise ValueError(f"{self.profile}: a quantity appears twice")
        return self

    def blocks(self, max_registers: int = 125) -> list[tuple[int, int, int]]:
        """(function, first address, count): as few reads as cover every register, gaps
        included (a read of up to 125 registers costs about what one of 1 costs)."""
        out: list[tuple[int, int, int]] = []
        for reg in sorted(self.registers, key=lambda r: (r.function, r.address)):
            end = reg.address + reg.size
            if out and out[-1][0] == reg.function and end - out[-1][1] <= max_registers:
                function, first, count = out[-1]
                out[-1] = (function, first, max(count, end - first))
            else:
                out.append((reg.function, reg.address, reg.size))
        return out


def _map(profile: str, *registers: dict) -> RegisterMap:
    return RegisterMap(profile=profile, registers=[Register(**r) for r in registers])


# Shaped on common field devices (register layouts of SDM630-style meters, RS485 soil and
# weather sensors); a deployment with other models adds its own maps.
REGISTER_MAPS: dict[str, RegisterMap] = {m.profile: m for m in (
    _map("three_phase_meter",  # input registers, IEEE floats, high word first
         {"quantity": "voltage", "address": 0, "function": 4, "type": "float32", "unit": "V"},
         {"quantity": "current", "address": 6, "function": 4, "type": "float32", "unit": "A"},
         {"quantity": "active_energy", "address": 342, "function": 4, "type": "float32",
          "unit": "kWh"}),
    _map("water_meter",  # litres as a 32-bit counter, low word first
         {"quantity": "water_volume", "address": 0, "type": "uint32", "word_order": "little",
          "scale": 0.001, "unit": "m3"}),
    _map("soil_probe_3in1",  # moisture and temperature in tenths, EC in uS/cm
         {"quantity": "soil_moisture", "address": 0, "scale": 0.1, "unit": "%"},
         {"quantity": "soil_temperature", "address": 1, "type": "int16", "scale": 0.1, "unit": "Cel"},
         {"quantity": "soil_ec", "address": 2, "unit": "uS/cm"}),
    _map("weather_station",
         {"quantity": "air_temperature", "address": 0, "type": "int16", "scale": 0.1, "unit": "Cel"},
         {"quantity": "relative_humidity", "address": 1, "scale": 0.1, "unit": "%RH"},
         {"quantity": "pm2_5", "address": 2, "unit": "ug/m3"}),
)}
