"""Platform use kept for good: the rollup sums ``raw.platform_use`` per organisation and day
into the ``rollup`` policy, so that a backfill after the raw points expired finds the same
users (a share lowered silently was the bug). Expiry is the raw points deleted, as
InfluxDB's retention enforcement deletes them."""

from __future__ import annotations

import pytest
from iotgw.registry import OrgType
from iotgw.rollup.periods import Period, local_midnight_ms
from iotgw.rollup.platform_use import PLATFORM_USE_DAILY, read_platform_users
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.schema import HOUR_MS, ROLLUP_RP

from tests.rollup.test_rollup_service import DAY1, DAY2, Clock, _readings, _register, _value, _wards
from tests.rollup.test_rollup_service import make_service as make_service  # the fixture
from tests.rollup.test_rollup_service import registry_url as registry_url  # the fixture

pytestmark = pytest.mark.integration

USING = "farms_coops_using_platform"


def _kept(influx: InfluxClient, database: str) -> dict[tuple[str, int], int]:
    series = influx.query(database, f'SELECT "requests" FROM "{ROLLUP_RP}"."{PLATFORM_USE_DAILY}"'
                                    ' GROUP BY "organisation"')
    return {(s.tags["organisation"], row["time"]): row["requests"] for s in series for row in s.rows}


def _expire_raw_use(influx: InfluxClient, database: str) -> None:
    influx.query(database, 'DELETE FROM "platform_use"')  # the raw points; the kept ones are named apart
    assert not influx.query(database, 'SELECT * FROM "raw"."platform_use"')


def test_a_backfill_after_raw_use_expired_keeps_the_platform_use_share(
        influx: InfluxClient, database: str, registry_url: str, make_service) -> None:
    w = _wards(registry_url, 3)
    _register(registry_url, [("farm-1", OrgType.FARM, w[0]), ("farm-2", OrgType.FARM, w[1]),
                             ("coop-1", OrgType.COOPERATIVE, w[2])],
              [("soil-1", "soil_probe", w[0], "farm-1", 600)])
    start = local_midnight_ms(DAY1)
    _readings(influx, database, "soil-1", [start + HOUR_MS], start + HOUR_MS, "soil_moisture=30.0")
    influx.write_lines(database, "\n".join([
        f"platform_use,organisation=coop-1,token=t1 requests=3i {start + 2 * HOUR_MS}",
        f"platform_use,organisation=coop-1,token=t2 requests=4i {start + 5 * HOUR_MS}"]))
    service = make_service(Clock(start + 30 * HOUR_MS))
    service.run_once()
    day, month = Period("day", DAY1), Period.containing("month", DAY1)
    assert _value(influx, database, USING, day)["numerator"] == 2  # farm-1's probe, coop-1's use
    assert _kept(influx, database) == {("coop-1", start): 7}

    _expire_raw_use(influx, database)
    assert read_platform_users(influx, database, start_ms=start, end_ms=start + 24 * HOUR_MS) == {"coop-1"}
    service.backfill(DAY1, DAY1)
    for period in (day, month):
        got = _value(influx, database, USING, period)
        assert (got["value"], got["numerator"], got["denominator"]) == (pytest.approx(200 / 3), 2, 3)
    assert _kept(influx, database) == {("coop-1", start): 7}  # not lowered by the emptier raw day


def test_a_day_of_platform_use_without_telemetry_is_kept_by_the_next_run(
        influx: InfluxClient, database: str, registry_url: str, make_service) -> None:
    start1, start2 = local_midnight_ms(DAY1), local_midnight_ms(DAY2)
    clock = Clock(start1 + HOUR_MS)
    service = make_service(clock)
    service.run_once()  # the first run: its watermark is the start of what the next one keeps
    influx.write_lines(database, f"platform_use,organisation=farm-9,token=t requests=1i {start2 + HOUR_MS}")
    clock.ms = start2 + 3 * HOUR_MS
    service.run_once()  # no telemetry anywhere: no hours touched
    assert _kept(influx, database) == {("farm-9", start2): 1}
