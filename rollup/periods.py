"""Reporting periods in Vietnam time (UTC+7, no daylight saving): a province's day, month,
half-year (H1/H2, the plans' 6-monthly reports) and year start at local midnight."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")

PeriodKind = Literal["day", "month", "half", "year"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "month", "half", "year")


def local_midnight_ms(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), VIETNAM).timestamp() * 1000)


def local_day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, VIETNAM).date()


@dataclass(frozen=True, order=True)
class Period:
    kind: PeriodKind
    start: dt.date  # its first local day

    @classmethod
    def containing(cls, kind: PeriodKind, day: dt.date) -> Period:
        if kind == "day":
            return cls(kind, day)
        if kind == "month":
            return cls(kind, day.replace(day=1))
        if kind == "half":
            return cls(kind, dt.date(day.year, 1 if day.month <= 6 else 7, 1))
        return cls(kind, dt.date(day.year, 1, 1))

    @property
    def end(self) -> dt.date:
        """The first local day after the period."""
        if self.kind == "day":
            return self.start + dt.timedelta(days=1)
        months = {"month": 1, "half": 6, "year": 12}[self.kind]
        index = self.start.month - 1 + months
        return dt.date(self.start.year + index // 12, index % 12 + 1, 1)

    @property
    def start_ms(self) -> int:
        return local_midnight_ms(self.start)

    @property
    def end_ms(self) -> int:
        return local_midnight_ms(self.end)

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "half":
            return f"{self.start.year}-H{1 if self.start.month == 1 else 2}"
        return str(self.start.year)


def periods_of(days: set[dt.date]) -> list[Period]:
    """Every period, of every kind, that contains one of the days: what a change to those
    days' data affects."""
    return sorted({Period.containing(kind, day) for day in days for kind in PERIOD_KINDS})
