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


def electricity_meter(device_id: str, seed: int, ts_ms: int) -> dict[str, float]:
    """Household meter: a kWh counter that never decreases, and the supply voltage.

    Energy is the integral of a load of 0.4 kW ± 0.3 kW over the day; the diurnal term's
    slope never exceeds the mean load, so the counter is monotonic.
    """
    rng = _noise(device_id, seed, ts_ms)
    hours = ts_ms / _HOUR_MS
    start_kwh = 1_000 + (seed % 97) * 37.0
    omega = 2 * math.pi / 24
    energy = start_kwh + 0.4 * hours + (0.3 / omega) * math.sin(omega * (hours - 19 + 6))
    return {
        "active_energy": round(energy, 3),
        "voltage": round(228 + rng.gauss(0, 1.5), 1),
    }


SIGNALS: dict[str, Signal] = {
    "soil_probe": soil_probe,
    "air_quality": air_quality,
    "electricity_meter": electricity_meter,
}
