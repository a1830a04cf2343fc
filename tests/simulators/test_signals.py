from __future__ import annotations

import itertools

import pytest

from devices import QUANTITIES
from simulators import SIGNALS

HOUR_MS = 3_600_000
START = 1_763_800_000_000  # 2025-11-22 UTC


@pytest.mark.parametrize("profile", sorted(SIGNALS))
def test_values_are_deterministic_and_plausible(profile: str) -> None:
    signal = SIGNALS[profile]
    for step in range(0, 48 * HOUR_MS, 17 * 60_000):
        values = signal("dev-1", 42, START + step)
        assert values == signal("dev-1", 42, START + step)
        for name, value in values.items():
            assert QUANTITIES[name].in_range(value), (name, value)
    assert signal("dev-1", 42, START) != signal("dev-2", 42, START)


def test_meter_counter_never_decreases() -> None:
    meter = SIGNALS["electricity_meter"]
    values = [meter("m-1", 7, START + n * 60_000)["active_energy"] for n in range(3 * 24 * 60)]
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert values[-1] - values[0] == pytest.approx(0.4 * 72, rel=0.05)  # 0.4 kW mean load


def test_pm25_peaks_at_rush_hour() -> None:
    station = SIGNALS["air_quality"]
    day = START - START % (24 * HOUR_MS)  # midnight UTC = 07:00 in Vietnam

    def mean_pm(local_hour: int) -> float:
        ts = day + ((local_hour - 7) % 24) * HOUR_MS
        return sum(station(f"s{i}", 1, ts)["pm2_5"] for i in range(30)) / 30

    assert mean_pm(8) > mean_pm(3) + 10
