"""The Modbus driver's keys of a ``[[devices]]`` table: ``modbus = { ... }``, how to reach
the device and which register map it speaks. Pure: checked when the file is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from iotgw.devices.links import Frozen
from iotgw.devices.register_maps import library
from pydantic import Field, model_validator


class ModbusLink(Frozen):
    """How to reach a Modbus device: ``host`` (Modbus TCP) or ``serial_port`` (RTU)."""

    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    serial_port: str | None = None
    baudrate: Annotated[int, Field(ge=1200, le=921_600)] = 9600
    parity: Literal["N", "E", "O"] = "N"
    unit_id: Annotated[int, Field(ge=0, le=247)] = 1
    # A dead device holds up the poll loop this long per try: keep it short.
    timeout_s: Annotated[float, Field(gt=0, le=10)] = 1.0
    # The register map: a model of the device library (devices/library/, e.g.
    # "eastron_sdm630m"), or the path of a map file of one's own (devices/library/README.md);
    # a relative path is taken from the configuration file's folder.
    model: str | None = None
    map: Path | None = None

    @model_validator(mode="after")
    def _one_transport_and_one_map(self) -> ModbusLink:
        if (self.host is None) == (self.serial_port is None):
            raise ValueError("give either host (Modbus TCP) or serial_port (Modbus RTU)")
        if (self.model is None) == (self.map is None):
            raise ValueError("give either model (of the device library) or map (a map file)")
        if self.model is not None and self.model not in library():
            raise ValueError(f"no model {self.model!r} in the device library; known: {sorted(library())}")
        return self


class Options(Frozen):
    driver: Literal["modbus"]
    modbus: ModbusLink

    def relative_to(self, folder: Path) -> Options:
        """A map file named relative to the configuration file is found from its folder,
        whatever the working directory of the agent (systemd starts it in ``/``)."""
        if self.modbus.map is None or self.modbus.map.is_absolute():
            return self
        return self.model_copy(update={"modbus": self.modbus.model_copy(
            update={"map": folder / self.modbus.map})})
