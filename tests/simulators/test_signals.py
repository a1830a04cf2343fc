from __future__ import annotations

import itertools

import pytest
from iotgw.devices import QUANTITIES, Reading
from iotgw.gateway import DeviceConfig
from iotgw.gateway.config import FaultConfig
from iotgw.simulators import SIGNALS, SimulatedSource

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


def test_meter_counters_never_decrease_except_at_a_replacement() -> None:
    meter = SIGNALS["electricity_meter"]
    values = [meter("m-1", 7, START + n * HOUR_MS)["active_energy"] for n in range(800 * 24)]
    drops = [(a, b) for a, b in itertools.pairwise(values) if b < a]
    assert len(drops) == 2  # one new meter a year, over 800 days
    assert all(after < 1.0 for _, after in drops)  # the new meter starts from zero
    used = sum(b - a for a, b in itertools.pairwise(values) if b >= a)
    assert used / (len(values) - 1) == pytest.approx(0.4, rel=0.02)  # kWh an hour: 0.4 kW mean load
    water = [SIGNALS["water_meter"]("w-1", 3, START + n * HOUR_MS)["water_volume"] for n in range(24 * 30)]
    assert all(b >= a for a, b in itertools.pairwise(water))
    assert (water[-1] - water[0]) / 30 == pytest.approx(0.48, rel=0.05)  # m3 a day


def _local(day_ms: int, hour: int) -> int:
    return day_ms + ((hour - 7) % 24) * HOUR_MS  # midnight UTC is 07:00 in Vietnam


def test_dissolved_oxygen_is_lowest_at_night_and_salinity_highest_in_the_dry_season() -> None:
    pond = SIGNALS["water_quality"]
    day = START - START % (24 * HOUR_MS)
    do_at = {h: sum(pond("p", s, _local(day, h))["dissolved_oxygen"] for s in range(20)) / 20
             for h in range(24)}
    assert min(do_at, key=do_at.get) in (2, 3, 4)
    assert do_at[15] > do_at[3] + 4
    march = 1_773_000_000_000  # 2026-03-08
    september = 1_789_000_000_000  # 2026-09-10

    def mean_salinity(around: int) -> float:
        return sum(pond("p", 1, around + n * HOUR_MS)["salinity"] for n in range(24 * 7)) / (24 * 7)
    assert mean_salinity(march) > 4 * mean_salinity(september) and mean_salinity(march) > 4


def test_pm25_peaks_at_rush_hour() -> None:
    station = SIGNALS["air_quality"]
    day = START - START % (24 * HOUR_MS)  # midnight UTC = 07:00 in Vietnam

    def mean_pm(local_hour: int) -> float:
        ts = day + ((local_hour - 7) % 24) * HOUR_MS
        return sum(station(f"s{i}", 1, ts)["pm2_5"] for i in range(30)) / 30

    assert mean_pm(8) > mean_pm(3) + 10


def test_configured_fault_rates_are_what_the_device_sends() -> None:
    faults = FaultConfig(dropout=0.05, stuck=0.03, spike=0.02, duplicate=0.04, epoch_1970=0.01,
                         clock_skew_s=30)
    source = SimulatedSource(DeviceConfig(id="d1", driver="simulated", profile="air_quality",
                                          interval_s=60, faults=faults))
    sent: list[list[Reading]] = [source.read(START + n * 60_000) for n in range(10_000)]
    kept = 0.95  # the share of turns that are not dropouts
    expected = {"dropout": 10_000 * 0.05, "stuck": 10_000 * kept * 0.03,
                "spike": 10_000 * kept * 0.97 * 0.02, "duplicate": 10_000 * kept * 0.04,
                "epoch_1970": 10_000 * kept * 0.01}
    for fault, mean in expected.items():
        assert abs(source.faulted[fault] - mean) < 4 * mean ** 0.5 + 5, (fault, source.faulted[fault], mean)
    assert sum(not batch for batch in sent) == source.faulted["dropout"]
    assert sum(len(batch) == 2 and batch[0] == batch[1] for batch in sent) == source.faulted["duplicate"]
    assert sum(any(r.ts <= 86_400_000 for r in batch) for batch in sent) == source.faulted["epoch_1970"]
    on_time = [r.ts - (START + n * 60_000) for n, batch in enumerate(sent)
               for r in batch if r.ts > 86_400_000]
    assert set(on_time) == {30_000}  # the skew
    emitted = [batch[0].values for batch in sent if batch]
    repeats = sum(b == a for a, b in itertools.pairwise(emitted))
    assert repeats >= source.faulted["stuck"]  # every stuck reading repeats the one before
