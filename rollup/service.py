"""The rollup: hours that received data -> per-device aggregates -> indicator values.

Which hours to recompute comes from ``touched_hours``, which ingest writes in the same
request as the readings (see ``tsdb.schema``): live data touches the current hour, late
data (a gateway back after an outage) touches the hours it belongs to, and only those
hours, their days and the periods (day, month, half-year, year) containing them are
computed again. The watermark over ``written_at`` is kept in InfluxDB itself and moves only
after a run succeeded, so a run that fails (InfluxDB or the registry down) is simply done
again by the next one: nothing is skipped.

Household meters' readings and their per-device aggregates are in the personal database
(``tsdb.schema``): each day is aggregated in both databases, each into itself. So are the
indicator values of a household's meter and of a gateway serving one (``level`` device or
gateway, ``indicators.personal_units``); the other indicator values, aggregates over many
organisations, and the watermark are in the main one.

Registry changes do not touch hours: after correcting the registry for a past period, run
``iotgw rollup backfill`` over it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from iotgw.registry import RegistryError, device_intervals, make_engine, session_factory
from iotgw.rollup import aggregates, platform_use, store
from iotgw.rollup.catalogue import Catalogue, load_catalogue
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.indicators import PeriodData, compute, personal_units
from iotgw.rollup.period_data import load_period_data
from iotgw.rollup.periods import Period, local_day, local_midnight_ms, periods_of
from iotgw.rollup.platform_use import days_between
from iotgw.tsdb import TsdbError
from iotgw.tsdb.raw import read_touched_hours
from iotgw.tsdb.schema import (
    DEVICE_DAILY,
    DEVICE_HOURLY,
    HOUR_MS,
    create_storage,
    personal_database,
)

log = logging.getLogger(__name__)

Progress = Callable[[int], None]  # called with how many steps were just done


@dataclass(frozen=True)
class RunSummary:
    hours: int
    days: int
    periods: int
    values: int


class RollupService:
    def __init__(self, cfg: RollupConfig, catalogue: Catalogue | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.db = cfg.influx.database
        self.influx = cfg.influx.client()
        self.sessions = session_factory(make_engine(cfg.registry.url, must_exist=True))
        self.catalogue = catalogue or (load_catalogue(cfg.catalogue) if cfg.catalogue
                                       else load_catalogue())
        self.clock = clock

    def prepare(self) -> None:
        """Database and retention policies (the same calls as ingest's: either may start first)."""
        create_storage(self.influx, self.db, raw_retention=self.cfg.influx.raw_retention)

    # -- what to do ---------------------------------------------------------------------

    def _watermark(self) -> int:
        return store.read_watermark(self.influx, self.db)

    def pending_hours(self) -> tuple[set[int], int]:
        """Hours (epoch hour numbers) written since the watermark, and the next watermark."""
        now_ms = int(self.clock() * 1000)
        watermark = self._watermark()
        hours = read_touched_hours(self.influx, self.db, written_after_ms=watermark)
        return hours, max(watermark, now_ms - int(self.cfg.grace_s * 1000))

    def since_last_run_s(self) -> float | None:
        """Seconds since the last successful run finished (None: never ran).

        The watermark a run writes is its start minus ``grace_s``; that is added back.
        """
        watermark = self._watermark()
        if not watermark:
            return None
        return max(0.0, self.clock() - watermark / 1000 - self.cfg.grace_s)

    def run_once(self, progress: Progress | None = None) -> RunSummary:
        since_ms = self._watermark() or int(self.clock() * 1000)
        hours, watermark = self.pending_hours()
        summary = self.recompute(hours, progress)
        # Platform use touches no hours: the days since the last run are kept all the same.
        platform_use.aggregate_days(self.influx, self.db, days_between(since_ms, int(self.clock() * 1000)))
        store.write_watermark(self.influx, self.db, watermark)
        return summary

    def run(self, stop: threading.Event) -> None:
        """Every ``interval_s`` until stopped; a failed run is retried by the next one."""
        self.prepare()
        while not stop.is_set():
            try:
                summary = self.run_once()
                log.info("rollup: %s", summary)
            except (TsdbError, RegistryError) as exc:
                log.warning("rollup run failed, next run retries it: %s", exc)
            stop.wait(self.cfg.interval_s)

    @staticmethod
    def hours_of(first: dt.date, last: dt.date) -> set[int]:
        """Every hour of the days [first, last], Vietnam time."""
        start, end = local_midnight_ms(first), local_midnight_ms(last + dt.timedelta(days=1))
        return set(range(start // HOUR_MS, end // HOUR_MS))

    def backfill(self, first: dt.date, last: dt.date, progress: Progress | None = None) -> RunSummary:
        """Recompute every hour of the days [first, last] and the periods containing them."""
        return self.recompute(self.hours_of(first, last), progress)

    # -- doing it -------------------------------------------------------------------------

    def steps(self, hours: set[int]) -> int:
        """How many progress steps ``recompute`` reports for these hours."""
        days = {local_day(h * HOUR_MS) for h in hours}
        return len(days) + len(periods_of(days))

    def recompute(self, hours: set[int], progress: Progress | None = None) -> RunSummary:
        by_day: dict[dt.date, list[int]] = defaultdict(list)
        for hour in hours:
            by_day[local_day(hour * HOUR_MS)].append(hour)
        intervals = self._intervals()
        for day, day_hours in sorted(by_day.items()):
            for db in (self.db, personal_database(self.db)):  # a device's aggregates beside its readings
                self._aggregate(db, min(day_hours) * HOUR_MS, (max(day_hours) + 1) * HOUR_MS, day, intervals)
            platform_use.aggregate_days(self.influx, self.db, [day])
            if progress:
                progress(1)
        values = 0
        periods = periods_of(set(by_day))
        for period in periods:
            data = self.period_data(period)
            personal = personal_units(data.registry, store.read_personal_devices(
                self.influx, self.db, start_ms=period.start_ms, end_ms=period.end_ms))
            values += store.write_values(self.influx, self.db, compute(self.catalogue.indicators, data),
                                         personal=personal, computed_at_ms=int(self.clock() * 1000))
            if progress:
                progress(1)
        return RunSummary(len(hours), len(by_day), len(periods), values)

    def _aggregate(self, db: str, start_ms: int, end_ms: int, day: dt.date,
                   intervals: dict[str, int]) -> None:
        """The hours [start, end) of ``day``, then the day, in one database,
        ``devices_per_query`` devices at a time, so that what is held grows with the group,
        not the fleet. Every device's hours are written before any device's day, which is
        read from them."""
        step = self.cfg.devices_per_query
        devices = aggregates.devices_with_readings(self.influx, db, start_ms, end_ms)
        for i in range(0, len(devices), step):
            store.write_aggregates(self.influx, db, DEVICE_HOURLY, aggregates.hourly(
                self.influx, db, start_ms, end_ms, interval_s=intervals,
                counter_lookback_ms=int(self.cfg.counter_lookback_h * HOUR_MS),
                workers=self.cfg.query_workers, devices=devices[i:i + step]))
        start = local_midnight_ms(day)
        devices = aggregates.devices_with_hours(self.influx, db, start, start + 24 * HOUR_MS)
        for i in range(0, len(devices), step):
            store.write_aggregates(self.influx, db, DEVICE_DAILY, aggregates.daily(
                self.influx, db, start, start + 24 * HOUR_MS, workers=self.cfg.query_workers,
                devices=devices[i:i + step]))

    def _intervals(self) -> dict[str, int]:
        with self.sessions() as session:
            return device_intervals(session)

    def period_data(self, period: Period) -> PeriodData:
        with self.sessions() as session:
            return load_period_data(self.influx, self.db, session, period, int(self.clock() * 1000))
