"""The quantity catalogue: what a reading may measure, in which unit, within which range.

A quantity's name is the key of a reading's ``values`` and the field key in InfluxDB, so
names are stable snake_case identifiers; units are SenML (RFC 8428) unit symbols where
SenML has one. The valid range is the physically plausible span of a field instrument,
not a limit of any one model: a value outside it is a fault, never a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a quantity's values relate over time; rollups aggregate the two differently."""

    GAUGE = "gauge"  # an instantaneous level: mean, min, max make sense
    COUNTER = "counter"  # a running total (kWh, m3): only its increase over a period does


@dataclass(frozen=True, slots=True)
class Quantity:
    name: str
    unit: str
    minimum: float
    maximum: float
    kind: Kind
    label_vi: str
    label_en: str

    def __post_init__(self) -> None:
        if not self.minimum < self.maximum:
            raise ValueError(f"quantity {self.name}: minimum must be below maximum")

    def in_range(self, value: float) -> bool:
        return self.minimum <= value <= self.maximum


_CATALOGUE = (
    Quantity("soil_moisture", "%", 0, 100, Kind.GAUGE, "Độ ẩm đất", "Soil moisture"),
    Quantity("soil_temperature", "Cel", -20, 80, Kind.GAUGE, "Nhiệt độ đất", "Soil temperature"),
    Quantity(
        "soil_ec", "uS/cm", 0, 20_000, Kind.GAUGE, "Độ dẫn điện của đất", "Soil electrical conductivity"
    ),
    Quantity("air_temperature", "Cel", -40, 70, Kind.GAUGE, "Nhiệt độ không khí", "Air temperature"),
    Quantity("relative_humidity", "%RH", 0, 100, Kind.GAUGE, "Độ ẩm không khí", "Relative humidity"),
    Quantity("pm2_5", "ug/m3", 0, 1_000, Kind.GAUGE, "Bụi mịn PM2.5", "PM2.5"),
    Quantity("water_level", "m", -10, 100, Kind.GAUGE, "Mực nước", "Water level"),
    Quantity("salinity", "g/L", 0, 50, Kind.GAUGE, "Độ mặn", "Salinity"),
    Quantity("dissolved_oxygen", "mg/L", 0, 30, Kind.GAUGE, "Oxy hòa tan", "Dissolved oxygen"),
    Quantity("active_energy", "kWh", 0, 1e9, Kind.COUNTER, "Điện năng tác dụng", "Active energy"),
    Quantity("voltage", "V", 0, 500, Kind.GAUGE, "Điện áp", "Voltage"),
    Quantity("current", "A", 0, 1_000, Kind.GAUGE, "Dòng điện", "Current"),
    Quantity("water_volume", "m3", 0, 1e9, Kind.COUNTER, "Lượng nước", "Water volume"),
)

QUANTITIES: dict[str, Quantity] = {q.name: q for q in _CATALOGUE}
