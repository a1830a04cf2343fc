"""Register maps as data: where a device model keeps each quantity and how it is encoded.

A map is a TOML file, one per device model, in the device library (``devices/library/``,
see its README) or anywhere a user puts their own; the gateway's Modbus driver reads with
it, the Modbus device simulator serves with it, and nothing about a model is code. A map
names the datasheet it was written from and the profile (``devices/profiles.toml``) its
device serves: its quantities are some of that profile's.

Function codes 1 and 2 (coils, discrete inputs) hold bits: a ``bool`` reads 0 or 1.
Functions 3 and 4 (holding, input registers) hold 16-bit words: 32-bit types span two,
64-bit types four. ``word_order = "big"`` puts the most significant word first (Modbus'
usual convention), ``"little"`` the least significant first (common in meters);
``byte_order = "little"`` swaps the two bytes within each word. A bit field (``bit``,
``bits``) is that many bits of the integer, from bit ``bit`` (0: least significant); bit
fields may share their registers. ``value = raw * scale + offset``, in the quantity's unit.

Decoding is done here with ``struct``, so that word and byte order mean exactly what this
docstring says; the tests check it against pymodbus' own converters.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from iotgw.devices.config_files import ConfigError, load_config
from iotgw.devices.profiles import PROFILES, ProfileName
from iotgw.devices.quantities import QUANTITIES
from pydantic import BaseModel, ConfigDict, Field, model_validator

LIBRARY_DIR = Path(__file__).with_name("library")

DataType = Literal["bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]
_FORMATS = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "int64": ">q",
            "uint64": ">Q", "float32": ">f", "float64": ">d"}
_WORDS = {"bool": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2,
          "int64": 4, "uint64": 4, "float64": 4}
BIT_FUNCTIONS = (1, 2)  # coils, discrete inputs
MAX_COUNT = {1: 2000, 2: 2000, 3: 125, 4: 125}  # per read request, by the Modbus spec


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Register(_Strict):
    quantity: str
    address: Annotated[int, Field(ge=0, le=65_535)]
    function: Literal[1, 2, 3, 4] = 3  # coils, discrete inputs, holding, input registers
    type: DataType  # default: bool for functions 1 and 2, uint16 for 3 and 4
    word_order: Literal["big", "little"] = "big"
    byte_order: Literal["big", "little"] = "big"
    bit: Annotated[int, Field(ge=0, le=63)] | None = None  # a bit field from this bit ...
    bits: Annotated[int, Field(ge=1, le=64)] = 1  # ... this many bits wide
    scale: float = 1.0
    offset: float = 0.0
    unit: str
    name: str | None = None  # the register's name in the datasheet

    @model_validator(mode="before")
    @classmethod
    def _default_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and "type" not in data:
            return {**data, "type": "bool" if data.get("function") in BIT_FUNCTIONS else "uint16"}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Register:
        quantity = QUANTITIES.get(self.quantity)
        if quantity is None:
            raise ValueError(f"unknown quantity {self.quantity!r}; known: {sorted(QUANTITIES)}")
        if self.unit != quantity.unit:
            raise ValueError(f"{self.quantity} is in {quantity.unit}, not {self.unit}")
        if self.scale == 0:
            raise ValueError("scale must not be 0")
        if (self.function in BIT_FUNCTIONS) != (self.type == "bool"):
            raise ValueError("functions 1 and 2 (coils, discrete inputs) hold type bool, and only they do")
        if self.bit is not None:
            if self.type in ("bool", "float32", "float64"):
                raise ValueError(f"a bit field needs an integer type, not {self.type}")
            if self.bit + self.bits > 16 * self.size:
                raise ValueError(f"bits {self.bit}..{self.bit + self.bits - 1} are beyond {self.type}")
        elif "bits" in self.model_fields_set:
            raise ValueError("bits needs bit (the field's lowest bit)")
        return self

    @property
    def size(self) -> int:
        """How many registers (or coils) the value spans."""
        return _WORDS[self.type]

    def _bytes(self, words: Sequence[int]) -> bytes:
        """The value's bytes, most significant first."""
        ordered = list(words) if self.word_order == "big" else list(reversed(words))
        out = b"".join(w.to_bytes(2, "big") for w in ordered)
        return out if self.byte_order == "big" else _swap_bytes(out)

    def _words(self, packed: bytes) -> list[int]:
        """Inverse of ``_bytes``."""
        if self.byte_order == "little":
            packed = _swap_bytes(packed)
        words = [int.from_bytes(packed[i:i + 2], "big") for i in range(0, len(packed), 2)]
        return words if self.word_order == "big" else list(reversed(words))

    def _field(self) -> tuple[str, int]:
        """A bit field's unsigned format and mask."""
        return ">" + _FORMATS[self.type][1].upper(), (1 << self.bits) - 1

    def decode(self, words: Sequence[int]) -> float:
        """The value of the register contents ``words`` (``size`` of them; 0 or 1 per coil)."""
        if len(words) != self.size:
            raise ValueError(f"{self.quantity}: {self.type} needs {self.size} registers, got {len(words)}")
        if self.type == "bool":
            raw: float = 1 if words[0] else 0
        elif self.bit is not None:
            fmt, mask = self._field()
            (whole,) = struct.unpack(fmt, self._bytes(words))
            raw = (whole >> self.bit) & mask
        else:
            (raw,) = struct.unpack(_FORMATS[self.type], self._bytes(words))
        return raw * self.scale + self.offset

    def encode(self, value: float, current: Sequence[int] | None = None) -> list[int]:
        """The register contents that decode to ``value`` (rounded for integer types). A bit
        field changes only its bits of ``current`` (the registers it shares; default 0)."""
        raw = (value - self.offset) / self.scale
        if self.type == "bool":
            return [1 if round(raw) else 0]
        if self.bit is not None:
            fmt, mask = self._field()
            (whole,) = struct.unpack(fmt, self._bytes(current or [0] * self.size))
            whole = whole & ~(mask << self.bit) | (round(raw) & mask) << self.bit
            return self._words(struct.pack(fmt, whole))
        exact = self.type.startswith("float")
        return self._words(struct.pack(_FORMATS[self.type], raw if exact else round(raw)))


def _swap_bytes(data: bytes) -> bytes:
    return b"".join(data[i:i + 2][::-1] for i in range(0, len(data), 2))


class Datasheet(_Strict):
    """Where a map comes from, so that a technician can check it against their unit's manual."""

    title: Annotated[str, Field(min_length=3)]
    version: Annotated[str, Field(min_length=1)]
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]


class RegisterMap(_Strict):
    vendor: Annotated[str, Field(min_length=1)]
    model: Annotated[str, Field(min_length=1)]
    profile: ProfileName
    description: str = ""
    datasheet: Datasheet
    registers: Annotated[list[Register], Field(min_length=1)]

    @model_validator(mode="after")
    def _a_profile_s_quantities_each_in_its_own_registers(self) -> RegisterMap:
        allowed = PROFILES[self.profile].quantities
        if foreign := sorted({r.quantity for r in self.registers} - set(allowed)):
            raise ValueError(f"{foreign} are not quantities of profile {self.profile} ({allowed})")
        quantities = [r.quantity for r in self.registers]
        if twice := sorted({q for q in quantities if quantities.count(q) > 1}):
            raise ValueError(f"quantities appear twice: {twice}")
        taken: dict[tuple[int, int], Register] = {}
        for reg in self.registers:
            for address in range(reg.address, reg.address + reg.size):
                other = taken.setdefault((reg.function, address), reg)
                if other is not reg and not _share(reg, other):
                    raise ValueError(f"{reg.quantity} and {other.quantity} share register {address}"
                                     f" (function {reg.function})")
        return self

    @property
    def name(self) -> str:
        """The library's name of the model, and the file's stem: ``eastron_sdm630m``."""
        return re.sub(r"[^a-z0-9]+", "_", f"{self.vendor}_{self.model}".lower()).strip("_")

    def blocks(self) -> list[tuple[int, int, int]]:
        """(function, first address, count): as few reads as cover every register, gaps
        included (a read of up to 125 registers costs about what one of 1 costs)."""
        out: list[tuple[int, int, int]] = []
        for reg in sorted(self.registers, key=lambda r: (r.function, r.address)):
            end = reg.address + reg.size
            if out and out[-1][0] == reg.function and end - out[-1][1] <= MAX_COUNT[reg.function]:
                function, first, count = out[-1]
                out[-1] = (function, first, max(count, end - first))
            else:
                out.append((reg.function, reg.address, reg.size))
        return out


def _share(a: Register, b: Register) -> bool:
    """Two bit fields of the same registers, on different bits."""
    if a.bit is None or b.bit is None or (a.address, a.type, a.word_order, a.byte_order) != (
            b.address, b.type, b.word_order, b.byte_order):
        return False
    return a.bit + a.bits <= b.bit or b.bit + b.bits <= a.bit


def load_map(path: Path) -> RegisterMap:
    """Raises: ConfigError naming the file, the line and the key."""
    return load_config(path, RegisterMap)


@cache
def library(directory: Path = LIBRARY_DIR) -> dict[str, RegisterMap]:
    """The device library: every map file of ``directory``, by model name (the file's stem).

    Raises: ConfigError for a map that is invalid or whose file is misnamed.
    """
    maps = {}
    for path in sorted(directory.glob("*.toml")):
        register_map = load_map(path)
        if path.stem != register_map.name:
            raise ConfigError(f"{path}: a map of {register_map.vendor} {register_map.model} is"
                              f" named {register_map.name}.toml")
        maps[path.stem] = register_map
    return maps


class UnknownModel(LookupError):
    """A model that is not in the device library."""


def library_map(model: str) -> RegisterMap:
    """A model of the library. Raises: UnknownModel naming the known models."""
    maps = library()
    if model not in maps:
        raise UnknownModel(f"no model {model!r} in the device library; known: {sorted(maps)}")
    return maps[model]


def resolve_map(spec: str) -> RegisterMap:
    """``spec``: a model of the library (``eastron_sdm630m``) or the path of a map file.

    Raises: ConfigError (an invalid file), UnknownModel.
    """
    return load_map(Path(spec)) if spec.endswith(".toml") or "/" in spec else library_map(spec)
