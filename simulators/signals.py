"""Signal models: what a simulated device reads at a given time, deterministic by seed.

A value depends only on (model, device id, seed, timestamp), so a test can recompute from
a stored point's time exactly what the device sent, and two runs of a scenario agree.
Noise comes from ``random.Random`` seeded with a string, which is stable across processes
(unlike ``hash()``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

Signal = Callable[[str, int, int], dict[str, float]]

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000


def _noise(device_id: str, seed: int, ts_ms: int) -> random.Random:
    return random.Random(f"{seed}:{device_id}:{ts_ms}")


def _diurnal(ts_ms: int, peak_hour_local: float) -> float:
    """-1..1, peaking at ``peak_hour_local`` Vietnam time (UTC+7)."""
    hour = ((ts_ms + 7 * _HOUR_MS) % _DAY_MS) / _HOUR_MS
    return math.cos(2 * math.pi * (hour - peak_hour_local) / 24)


def soil_probe(device_id: str, seed: int, ts_ms: int) -> dict[str, float]:
    """3-in-1 soil probe: moisture dries between irrigations, temperature lags the air."""
    rng = _noise(device_id, seed, ts_ms)
    hours_since_irrigation = (ts_ms / _HOUR_MS + seed) % 72
    moisture = 22 + 18 * math.exp(-hours_since_irrigation / 30)
    return {
        "soil_moisture": round(moisture + rng.gauss(0, 0.3), 2),
        "soil_temperature": round(27 + 3 * _diurnal(ts_ms, 15) + rng.gauss(0, 0.1), 2),
        "soil_ec": round(600 + 4 * moisture + rng.gauss(0, 5), 1),
    }


def air_quality(device_id: str, seed: int, ts_ms: int) -> dict[str, float]:
    """Air-quality station: PM2.5 with morning and evening traffic peaks."""
    rng = _noise(device_id, seed, ts_ms)
    traffic = max(_diurnal(ts_ms, 7.5), 0) ** 4 + max(_diurnal(ts_ms, 18), 0) ** 4
    return {
        "pm2_5": round(max(0.0, 18 + 30 * traffic + rng.gauss(0, 2)), 1),
        "air_temperature": round(29 + 4 * _diurnal(ts_ms, 14) + rng.gauss(0, 0.2), 2),
        "relative_humidity": round(min(100.0, 75 - 12 * _diurnal(ts_ms, 14) + rng.gauss(0, 1)), 1),
    }


def weather_station(device_id: str, seed: int, ts_ms: int) -> dict[str, float]:
    """Farm weather station (the ``weather_station`` register map): air temperature and
    humidity of an orchard, dust from the dry season's fields, lower than a street's."""
    rng = _noise(device_id, seed, ts_ms)
    return {
        "air_temperature": round(28 + 5 * _diurnal(ts_ms, 14) + rng.gauss(0, 0.3), 2),
        "relative_humidity": round(min(100.0, 78 - 15 * _diurnal(ts_ms, 14) + rng.gauss(0, 1)), 1),
        "pm2_5": round(max(0.0, 12 + 10 * _dry_season(ts_ms) + rng.gauss(0, 1.5)), 1),
    }


def _counter(hours: float, rate: float, swing: float, peak_hour: float) -> float:
    """Integral of ``rate + swing * cos(...)`` (per hour): with ``swing < rate`` the rate is
    always positive, so the total never decreases."""
    omega = 2 * math.pi / 24
    return rate * hours + (swing / omega) * math.sin(omega * (hours - peak_hour + 7))


_METER_LIFE_H = 365 * 24  # each meter is replaced once a year, at a time set by the seed


def electricity_meter(device_id: str, seed: int, ts_ms: int) -> dict[str, float]:
    """Household meter: a kWh counter following the day's load (0.4 kW +- 0.3 kW, evening
    peak), and the supply voltage. Once a year the meter is replaced: the counter starts
    again from zero, which is what the rollup's reset handling is for."""
    rng = _noise(device_id, seed, ts_ms)
    hours = ts_ms / _HOUR_MS
    phase = (seed * 7_919) % _METER_LIFE_H
    installed = hours - (hours + phase) % _METER_LIFE_H  # when the current meter went in
    energy = _counter(hours, 0.4, 0.3, 19) - _counter(installed, 0.4, 0.3, 19)
    return {
        "active_energy": round(energy, 3),
        "voltage": round(228 + rng.gauss(0, 1.5), 1),
    }


def water_meter(device_id: str, seed: int, ts_ms: int) -> dict[str, float]:
    """Household water meter: a m3 counter, about 0.5 m3 a day, most of it morning and evening."""
    start_m3 = random.Random(f"{seed}:{device_id}").uniform(50, 500)  # what it showed when installed
    return {"water_volume": round(start_m3 + _counter(ts_ms / _HOUR_MS, 0.02, 0.015, 7), 4)}


def _dry_season(ts_ms: int) -> float:
    """0..1 over the Mekong delta's year: highest in mid-March, nil in the rainy season."""
    day = (ts_ms / _DAY_MS) % 365.25
    return max(0.0, math.cos(2 * math.pi * (day - 74) / 365.25))


def water_quality(device_id: str, seed: int, ts_ms: int) -> dict[str, float]:
    """Salinity and level station on a Mekong canal or aquaculture pond: salt intrudes in
    the dry season and with each tide (semi-diurnal, 12.42 h); dissolved oxygen follows
    photosynthesis, highest mid-afternoon, lowest before dawn."""
    rng = _noise(device_id, seed, ts_ms)
    tide = math.cos(2 * math.pi * (ts_ms / _HOUR_MS) / 12.42 + seed)
    salt = 0.3 + 8 * _dry_season(ts_ms) * (0.6 + 0.4 * tide)
    return {
        "salinity": round(max(0.0, salt + rng.gauss(0, 0.05)), 3),
        "dissolved_oxygen": round(max(0.0, 5.5 + 2.5 * _diurnal(ts_ms, 15) + rng.gauss(0, 0.2)), 2),
        "water_level": round(1.2 + 0.8 * tide + rng.gauss(0, 0.01), 3),
    }


SIGNALS: dict[str, Signal] = {
    "soil_probe": soil_probe,
    "air_quality": air_quality,
    "electricity_meter": electricity_meter,
    "water_meter": water_meter,
    "water_quality": water_quality,
    "weather_station": weather_station,
}
