"""What a period's indicators are computed from: the registry as the period saw it, each
device's readings and intervals in it (from ``device_daily``), and recorded platform use.
The rollup computes indicators from it; the API's coverage view reads it too."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rollup.indicators import Activity, PeriodData
from rollup.periods import Period
from rollup.registry_view import registry_view
from tsdb import InfluxClient
from tsdb.schema import DEVICE_DAILY, PLATFORM_USE, RAW_RP, ROLLUP_RP


def load_period_data(influx: InfluxClient, database: str, session: Session, period: Period,
                     now_ms: int) -> PeriodData:
    window = f"time >= {period.start_ms}ms AND time < {period.end_ms}ms"
    activity = {
        s.tags["device"]: Activity(s.rows[0]["readings"] or 0.0, s.rows[0]["intervals"] or 0.0)
        for s in influx.query(database, (
            f'SELECT sum("readings") AS "readings", sum("intervals") AS "intervals"'
            f' FROM "{ROLLUP_RP}"."{DEVICE_DAILY}" WHERE {window} GROUP BY "device"'))
    }
    users = frozenset(
        s.tags["organisation"] for s in influx.query(database, (
            f'SELECT count("requests") FROM "{RAW_RP}"."{PLATFORM_USE}" WHERE {window}'
            ' GROUP BY "organisation"')) if s.rows and s.rows[0]["count"])
    return PeriodData(period, registry_view(session, period), activity, users, min(period.end_ms, now_ms))
