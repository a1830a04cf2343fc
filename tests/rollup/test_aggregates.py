"""Hourly and daily aggregates on a real influxd, against figures computed by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from iotgw.rollup import aggregates, store
from iotgw.rollup.periods import local_midnight_ms
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.schema import DEVICE_HOURLY, HOUR_MS, RAW_RP, ROLLUP_RP

pytestmark = pytest.mark.integration

DAY = dt.date(2026, 3, 10)
T0 = local_midnight_ms(DAY)  # 00:00 Vietnam time, an hour boundary
MIN = 60_000


@pytest.fixture
def db(influx: InfluxClient, database: str) -> str:
    influx.create_retention_policy(database, RAW_RP, duration="INF", default=True)
    influx.create_retention_policy(database, ROLLUP_RP, duration="INF")
    return database


def _write(influx: InfluxClient, db: str, device: str, points: list[tuple[int, str]]) -> None:
    influx.write_lines(db, "\n".join(
        f'telemetry,device={device},gateway=gw {fields},quality="good" {ts}' for ts, fields in points))


def _hourly(influx: InfluxClient, db: str, hours: int = 3, lookback_h: int = 6) -> aggregates.Aggregates:
    return aggregates.hourly(influx, db, T0, T0 + hours * HOUR_MS,
                             interval_s={"meter": 900, "soil": 600},
                             counter_lookback_ms=lookback_h * HOUR_MS)


def test_a_meter_replaced_mid_period_gives_the_true_increase(influx: InfluxClient, db: str) -> None:
    # 15-minute kWh readings; the old meter is replaced at 01:30 by a new one starting at 0.
    kwh = [(T0 - 15 * MIN, 99.0),  # the hour before: the first step is 100 - 99
           (T0, 100.0), (T0 + 15 * MIN, 101.5), (T0 + 30 * MIN, 103.0), (T0 + 45 * MIN, 104.0),
           (T0 + 60 * MIN, 106.0), (T0 + 75 * MIN, 107.0), (T0 + 90 * MIN, 0.5),
           (T0 + 105 * MIN, 2.0), (T0 + 120 * MIN, 3.5)]
    _write(influx, db, "meter", [(ts, f"active_energy={v}") for ts, v in kwh])
    out = _hourly(influx, db)
    assert out["meter", T0]["active_energy_increase"] == pytest.approx(5.0)   # 99 -> 104
    # 104 -> 107, then +0.5 on the new meter, then +1.5
    assert out["meter", T0 + HOUR_MS]["active_energy_increase"] == pytest.approx(5.0)
    assert out["meter", T0 + 2 * HOUR_MS]["active_energy_increase"] == pytest.approx(1.5)
    assert out["meter", T0 + HOUR_MS]["active_energy_last"] == 2.0
    assert out["meter", T0]["intervals"] == 4
    store.write_aggregates(influx, db, DEVICE_HOURLY, out)
    day = aggregates.daily(influx, db, T0, T0 + 24 * HOUR_MS)
    assert day["meter", T0]["active_energy_increase"] == pytest.approx(11.5)
    assert day["meter", T0]["readings"] == 9


def test_gauges_and_a_gap_in_reporting(influx: InfluxClient, db: str) -> None:
    # Soil moisture every 10 minutes for hour 0; hour 1 only at :00 and :50; hour 2 silent.
    times = [T0 + m * MIN for m in range(0, 60, 10)] + [T0 + 60 * MIN, T0 + 110 * MIN]
    values = [30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 20.0, 40.0]
    _write(influx, db, "soil", [(ts, f"soil_moisture={v}") for ts, v in zip(times, values, strict=True)])
    influx.write_lines(
        db, f'telemetry_bad,device=soil,gateway=gw soil_moisture=99.0,quality="bad" {T0 + 5 * MIN}')
    out = _hourly(influx, db)
    first, second = out["soil", T0], out["soil", T0 + HOUR_MS]
    assert (first["soil_moisture_mean"], first["soil_moisture_min"],
            first["soil_moisture_max"]) == (32.5, 30, 35)
    assert (first["readings"], first["intervals"]) == (6, 6)  # the "bad" reading is not counted
    assert (second["soil_moisture_mean"], second["intervals"],
            second["soil_moisture_last"]) == (30.0, 2, 40.0)
    assert ("soil", T0 + 2 * HOUR_MS) not in out
    store.write_aggregates(influx, db, DEVICE_HOURLY, out)
    day = aggregates.daily(influx, db, T0, T0 + 24 * HOUR_MS)["soil", T0]
    assert day["soil_moisture_mean"] == pytest.approx(sum(values) / 8)  # readings' mean, not hours'
    assert (day["soil_moisture_min"], day["soil_moisture_max"], day["soil_moisture_last"]) == (20, 40, 40)
    assert (day["readings"], day["intervals"]) == (8, 8)


def test_devices_a_few_at_a_time_give_what_all_of_them_at_once_give(influx: InfluxClient, db: str) -> None:
    # A meter replaced mid-hour (its reset is looked up alone), gauges, and ids a careless
    # device condition would confuse: a prefix of another, a "." that would match any letter.
    kwh = [(T0 - 15 * MIN, 99.0), (T0, 100.0), (T0 + 50 * MIN, 104.0), (T0 + 70 * MIN, 0.5),
           (T0 + 130 * MIN, 3.5)]
    _write(influx, db, "meter", [(ts, f"active_energy={v}") for ts, v in kwh])
    _write(influx, db, "meter-2", [(ts, f"active_energy={v + 7}") for ts, v in kwh])
    for n, device in enumerate(("soil.1", "soilx1", "soil")):
        _write(influx, db, device, [(T0 + m * MIN, f"soil_moisture={n + m / 10}") for m in range(0, 180, 25)])
    interval_s = {"meter": 900, "meter-2": 900, "soil.1": 600, "soilx1": 600, "soil": 1200}

    def hourly(devices: list[str] | None) -> aggregates.Aggregates:
        return aggregates.hourly(influx, db, T0, T0 + 3 * HOUR_MS, interval_s=interval_s,
                                 counter_lookback_ms=6 * HOUR_MS, devices=devices)

    every = hourly(None)
    found = aggregates.devices_with_readings(influx, db, T0, T0 + 3 * HOUR_MS)
    assert found == sorted(interval_s)
    for size in (1, 2, 3):
        parts: aggregates.Aggregates = {}
        for i in range(0, len(found), size):
            part = hourly(found[i:i + size])
            assert {device for device, _ in part} == set(found[i:i + size])
            parts.update(part)
        assert parts == every

    store.write_aggregates(influx, db, DEVICE_HOURLY, every)
    day = aggregates.daily(influx, db, T0, T0 + 24 * HOUR_MS)
    found = aggregates.devices_with_hours(influx, db, T0, T0 + 24 * HOUR_MS)
    assert found == sorted(interval_s)
    parts = {}
    for i in range(0, len(found), 2):
        part = aggregates.daily(influx, db, T0, T0 + 24 * HOUR_MS, devices=found[i:i + 2])
        assert {device for device, _ in part} == set(found[i:i + 2])
        parts.update(part)
    assert parts == day
    assert day["meter", T0]["active_energy_increase"] == pytest.approx(1.0 + 4.0 + 0.5 + 3.0)
