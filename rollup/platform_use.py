"""Platform use kept for good: ``raw.platform_use`` summed per organisation and Vietnam day
into ``rollup.platform_use_daily``.

The API logs each organisation's requests in the raw retention policy, which InfluxDB
empties after ``raw_retention`` (400 days in production). The platform-use indicators
(plan targets like "≥ 50 % of farms use a digital platform", seed 000 line 32) are computed
for periods up to years back, so a backfill of an older period would find no use and
quietly lower the shares. The rollup aggregates each day it runs over (the days since its
last run, and every day it recomputes) into the ``rollup`` policy, kept for good, and the
indicators read both: raw for what is not aggregated yet, the aggregate for what raw lost.

An aggregate is never lowered: a day whose raw points partly expired would sum to less
than what was aggregated while they were there, so the larger count is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from iotgw.rollup.periods import local_day, local_midnight_ms
from iotgw.tsdb import InfluxClient, Point, encode_point
from iotgw.tsdb.schema import HOUR_MS, PLATFORM_USE, RAW_RP, ROLLUP_RP

PLATFORM_USE_DAILY = "platform_use_daily"
_RAW = f'"{RAW_RP}"."{PLATFORM_USE}"'
_KEPT = f'"{ROLLUP_RP}"."{PLATFORM_USE_DAILY}"'


def _by_organisation(influx: InfluxClient, database: str, source: str, start_ms: int,
                     end_ms: int) -> dict[str, int]:
    series = influx.query(database, (
        f'SELECT sum("requests") AS "requests" FROM {source}'
        f' WHERE time >= {start_ms}ms AND time < {end_ms}ms GROUP BY "organisation"'))
    return {s.tags["organisation"]: int(s.rows[0]["requests"] or 0) for s in series if s.rows}


def aggregate_days(influx: InfluxClient, database: str, days: Iterable[dt.date]) -> int:
    """Each day's requests per organisation into the kept aggregate; returns the points written."""
    written = 0
    for day in sorted(set(days)):
        start = local_midnight_ms(day)
        end = start + 24 * HOUR_MS
        raw = _by_organisation(influx, database, _RAW, start, end)
        kept = _by_organisation(influx, database, _KEPT, start, end)
        lines = [encode_point(Point(PLATFORM_USE_DAILY, {"requests": n}, start, {"organisation": org}))
                 for org, n in sorted(raw.items()) if n > kept.get(org, 0)]
        if lines:
            influx.write_lines(database, "\n".join(lines), retention_policy=ROLLUP_RP)
            written += len(lines)
    return written


def read_platform_users(influx: InfluxClient, database: str, *, start_ms: int, end_ms: int) -> frozenset[str]:
    """Organisations with authenticated API or dashboard use in [start_ms, end_ms) (whole
    Vietnam days for the aggregate): recorded in raw, or kept in the aggregate."""
    return frozenset(org for source in (_RAW, _KEPT)
                     for org, n in _by_organisation(influx, database, source, start_ms, end_ms).items() if n)


def days_between(first_ms: int, last_ms: int) -> list[dt.date]:
    """The Vietnam days from the one holding ``first_ms`` to the one holding ``last_ms``."""
    first, last = local_day(first_ms), local_day(last_ms)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
