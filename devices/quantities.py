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
    # Of the device library's models (devices/library/): 7-in-1 soil probes, energy meters,
    # water meters and weather stations give these beside the quantities above.
    Quantity("soil_ph", "pH", 0, 14, Kind.GAUGE, "Độ pH của đất", "Soil pH"),
    Quantity("soil_nitrogen", "mg/kg", 0, 2_000, Kind.GAUGE, "Đạm (N) trong đất", "Soil nitrogen"),
    Quantity("soil_phosphorus", "mg/kg", 0, 2_000, Kind.GAUGE, "Lân (P) trong đất", "Soil phosphorus"),
    Quantity("soil_potassium", "mg/kg", 0, 2_000, Kind.GAUGE, "Kali (K) trong đất", "Soil potassium"),
    Quantity("active_power", "W", -1e6, 1e6, Kind.GAUGE, "Công suất tác dụng", "Active power"),
    Quantity("frequency", "Hz", 40, 70, Kind.GAUGE, "Tần số", "Frequency"),
    Quantity("power_factor", "/", -1, 1, Kind.GAUGE, "Hệ số công suất", "Power factor"),
    Quantity("water_flow", "m3/h", 0, 10_000, Kind.GAUGE, "Lưu lượng nước", "Water flow"),
    Quantity("wind_speed", "m/s", 0, 80, Kind.GAUGE, "Tốc độ gió", "Wind speed"),
    Quantity("wind_direction", "deg", 0, 360, Kind.GAUGE, "Hướng gió", "Wind direction"),
    Quantity("air_pressure", "hPa", 300, 1_100, Kind.GAUGE, "Áp suất khí quyển", "Air pressure"),
    Quantity("rainfall", "mm", 0, 1e7, Kind.COUNTER, "Lượng mưa", "Rainfall"),
    Quantity("rain_detected", "/", 0, 1, Kind.GAUGE, "Đang mưa", "Rain detected"),
    Quantity("leak_alarm", "/", 0, 1, Kind.GAUGE, "Cảnh báo rò rỉ", "Leak alarm"),
    Quantity("insect_count", "count", 0, 1e6, Kind.GAUGE, "Số côn trùng bắt được", "Insects caught"),
)

QUANTITIES: dict[str, Quantity] = {q.name: q for q in _CATALOGUE}
