"""What a period's indicators are computed from: the registry as the period saw it, each
device's readings and intervals in it (from ``device_daily``), recorded platform use, and the
declarations and aggregate counts in force (evidence the platform does not observe).
The rollup computes indicators from it; the API's coverage view reads it too."""

from __future__ import annotations

from iotgw.registry import aggregates, declared
from iotgw.rollup.indicators import Activity, PeriodData
from iotgw.rollup.periods import Period
from iotgw.rollup.platform_use import read_platform_users
from iotgw.rollup.registry_view import registry_view
from iotgw.rollup.store import read_activity
from iotgw.tsdb import InfluxClient
from sqlalchemy.orm import Session


def load_period_data(influx: InfluxClient, database: str, session: Session, period: Period,
                     now_ms: int) -> PeriodData:
    window = {"start_ms": period.start_ms, "end_ms": period.end_ms}
    activity = {device: Activity(readings, intervals)
                for device, (readings, intervals) in read_activity(influx, database, **window).items()}
    users = read_platform_users(influx, database, **window)
    return PeriodData(period, registry_view(session, period), activity, users, min(period.end_ms, now_ms),
                      declared(session, start=period.start, end=period.end),
                      aggregates(session, period.start.year))
