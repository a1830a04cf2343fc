"""Indicator values written as they are computed, on a real influxd."""

from __future__ import annotations

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
