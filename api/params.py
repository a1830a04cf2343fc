"""Query parameter types the routes share: dates within the years the plans and the
stored series can be about.

A date of year 1 or 9999 is valid ISO 8601 but no period of ours: it became a time
InfluxDB refuses to parse (a 500) instead of a 422 naming the parameter.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

from pydantic import AfterValidator

FIRST_YEAR, LAST_YEAR = 2000, 2100

_When = TypeVar("_When", dt.date, dt.datetime)


def _in_years(value: _When) -> _When:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    return value


PlanDate = Annotated[dt.date, AfterValidator(_in_years)]
PlanDateTime = Annotated[dt.datetime, AfterValidator(_in_years)]
