"""Indicator values written as they are computed, on a real influxd."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
from iotgw.rollup import store
from iotgw.rollup.indicators import Value
from iotgw.rollup.periods import Period
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.schema import INDICATORS, ROLLUP_RP, create_databases, personal_database

pytestmark = pytest.mark.integration

DAY = Period("day", dt.date(2026, 3, 10))


def _units(influx: InfluxClient, db: str) -> set[str]:
    return {s.tags["unit"] for s in influx.query(
        db, f'SELECT * FROM "{ROLLUP_RP}"."{INDICATORS}" GROUP BY "unit"')}


def test_values_are_written_a_batch_at_a_time_as_they_come(influx: InfluxClient, database: str) -> None:
    create_databases(influx, database, raw_retention="INF")
    homes = {"device": frozenset({"meter-0", "meter-2", "meter-4"})}
    seen_midway: set[str] = set()

    def values() -> Iterator[Value]:
        for n in range(7):
            if n == 5:  # a full batch of households' values is stored before the rest is computed
                seen_midway.update(_units(influx, personal_database(database)))
            yield Value("reporting_availability", DAY, "device", f"meter-{n}", 75, 50.0, n, 2 * n)

    written = store.write_values(influx, database, values(), personal=homes, computed_at_ms=1, batch=2)
    assert written == 7
    assert seen_midway == {"meter-0", "meter-2"}
    assert _units(influx, personal_database(database)) == homes["device"]
    assert _units(influx, database) == {"meter-1", "meter-3", "meter-5", "meter-6"}


def test_a_value_read_from_the_personal_database_is_marked_so(influx: InfluxClient, database: str) -> None:
    """The API hides a device's value by this mark (``api.privacy.with_stored_personal``); a
    unit in both databases is marked as its copy computed last is."""
    create_databases(influx, database, raw_retention="INF")
    value = Value("reporting_availability", DAY, "device", "", 75, 50.0, 1, 2)

    def write(units: dict[str, bool], computed_at_ms: int) -> None:
        store.write_values(influx, database, [dataclasses.replace(value, unit=unit) for unit in units],
                           personal={"device": frozenset(u for u, home in units.items() if home)},
                           computed_at_ms=computed_at_ms)

    write({"meter": True, "probe": False, "moved-home": False}, computed_at_ms=1)
    write({"moved-home": True, "moved-away": True}, computed_at_ms=2)
    write({"moved-away": False}, computed_at_ms=3)  # the registry corrected, computed again
    read = store.read_values(influx, database, None, province=75, period="day", level="device",
                             start_ms=DAY.start_ms, end_ms=DAY.end_ms)
    assert {v.unit: v.personal for v in read} == {
        "meter": True, "probe": False, "moved-home": True, "moved-away": False}
