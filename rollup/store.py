"""The rollup's points in InfluxDB: the one place that writes and reads them.

``rollup.device_hourly`` and ``rollup.device_daily`` (per-device aggregates, tag
``device``), ``rollup.indicators`` (indicator values, tags indicator, period, level, unit,
province) and ``rollup.rollup_state`` (the watermark). The rollup service writes them; the
API reads them through the functions here, so their shape is known in one module.

A household meter's per-device aggregates are in the personal database (``tsdb.schema``):
the functions that read every device's (activity, last hours) read both databases; those
that read one device's or write take the database it is in. So are the indicator values of
the units ``indicators.personal_units`` names (a household's meter, a gateway serving one):
``write_values`` puts them there, and ``read_values`` at a level of ``PERSONAL_LEVELS``
reads both databases, marking a value read from the personal one (``StoredValue.personal``):
that mark, not where the registry puts the device at the period's end, is what makes the
value a household's to the API (a meter moved off a household mid-period is under no
household by then, but its value has the household's readings). A unit found in both
(the registry corrected, the period computed again) counts by its value computed last;
the other copy stays until deleted by hand (docs/operations.md, "InfluxDB accounts and
personal data").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iotgw.rollup.aggregates import Aggregates
from iotgw.rollup.indicators import PERSONAL_LEVELS, Value
from iotgw.rollup.periods import PeriodKind
from iotgw.tsdb import InfluxClient, Point, quote_string
from iotgw.tsdb.schema import (
    DEVICE_DAILY,
    DEVICE_HOURLY,
    INDICATORS,
    ROLLUP_RP,
    ROLLUP_STATE,
    personal_database,
)

RESOLUTIONS = {"hour": DEVICE_HOURLY, "day": DEVICE_DAILY}
EVIDENCE_PREFIX = "evidence_"  # an indicator value's field per evidence kind: its part of the numerator


def write_aggregates(influx: InfluxClient, database: str, measurement: str,
                     aggregates: Aggregates) -> int:
    """Write per-device aggregates (recomputing a bucket overwrites its point); returns how many."""
    return influx.write_points(database, (
        Point(measurement, {k: float(v) for k, v in fields.items()}, time, {"device": device})
        for (device, time), fields in aggregates.items() if fields), retention_policy=ROLLUP_RP)


def write_values(influx: InfluxClient, database: str, values: Iterable[Value], *,
                 personal: Mapping[str, Collection[str]], computed_at_ms: int, batch: int = 5_000) -> int:
    """Write indicator values (a recomputed period overwrites its points), those of the
    ``personal`` units (level -> units, ``indicators.personal_units``) to the personal
    database; returns how many. Written ``batch`` at a time per database as ``values``
    yields them: a province's period has about eight values per device, too many to hold."""
    apart, rest = personal_database(database), database
    pending: dict[str, list[Value]] = {apart: [], rest: []}
    written = 0
    for v in values:
        db = apart if v.unit in personal.get(v.level, ()) else rest
        pending[db].append(v)
        if len(pending[db]) >= batch:
            written += _write_values(influx, db, pending[db], computed_at_ms=computed_at_ms)
            pending[db] = []
    return written + sum(_write_values(influx, db, these, computed_at_ms=computed_at_ms)
                         for db, these in pending.items() if these)


def _write_values(influx: InfluxClient, database: str, values: list[Value], *, computed_at_ms: int) -> int:
    return influx.write_points(database, (Point(
        INDICATORS,
        {"value": float(v.value), "numerator": float(v.numerator),
         **({"denominator": float(v.denominator)} if v.denominator is not None else {}),
         **({"denominator_source": v.denominator_source} if v.denominator_source else {}),
         **{f"{EVIDENCE_PREFIX}{kind}": float(n) for kind, n in v.evidence.items()},
         "label": v.period.label, "computed_at": computed_at_ms},
        v.period.start_ms,
        {"indicator": v.indicator, "period": v.period.kind, "level": v.level,
         "unit": v.unit, "province": str(v.province)},
    ) for v in values), retention_policy=ROLLUP_RP)


def read_watermark(influx: InfluxClient, database: str) -> int:
    """The last run's watermark over ``touched_hours.written_at`` (0: never ran)."""
    series = influx.query(database, f'SELECT last("watermark") FROM "{ROLLUP_RP}"."{ROLLUP_STATE}"')
    return int(series[0].rows[0]["last"]) if series else 0


def write_watermark(influx: InfluxClient, database: str, watermark: int) -> None:
    influx.write_points(database, [Point(ROLLUP_STATE, {"watermark": watermark}, 0)],
                        retention_policy=ROLLUP_RP)


@dataclass(frozen=True, slots=True)
class StoredValue:
    """An indicator value as the rollup stored it."""

    indicator: str
    unit: str
    label: str  # the period, e.g. "2026-H1"
    value: float
    numerator: float
    denominator: float | None
    denominator_source: str | None
    evidence: dict[str, float]  # kind -> its part of the numerator (empty: stored before it was kept)
    personal: bool = False  # read from the personal database: computed over a household's meter


def read_values(influx: InfluxClient, database: str, indicator: str | None, *, province: int,
                period: PeriodKind, level: str, start_ms: int, end_ms: int,
                unit: str | None = None) -> list[StoredValue]:
    """Values of the periods starting in [start_ms, end_ms) of one indicator (None: every
    one), by indicator and unit, each in time order."""
    where = (f'"period" = {quote_string(period)} AND "level" = {quote_string(level)}'
             f' AND "province" = {quote_string(str(province))}'
             f" AND time >= {start_ms}ms AND time < {end_ms}ms")
    if indicator is not None:
        where += f' AND "indicator" = {quote_string(indicator)}'
    if unit is not None:
        where += f' AND "unit" = {quote_string(unit)}'
    rows = _query_values(influx, database, level, f'SELECT * FROM "{ROLLUP_RP}"."{INDICATORS}"'
                                                  f' WHERE {where} GROUP BY "indicator", "unit"')
    return [_stored(tags["indicator"], tags["unit"], row, personal) for tags, row, personal in rows]


def read_values_by_province(influx: InfluxClient, database: str, indicator: str, *, period: PeriodKind,
                            level: str, start_ms: int, end_ms: int) -> dict[int, list[StoredValue]]:
    """``read_values`` of every province in one query (one per province made the national
    comparison cost 34 queries per indicator), by province, each by unit in time order."""
    where = (f'"period" = {quote_string(period)} AND "level" = {quote_string(level)}'
             f' AND "indicator" = {quote_string(indicator)}'
             f" AND time >= {start_ms}ms AND time < {end_ms}ms")
    rows = _query_values(influx, database, level, f'SELECT * FROM "{ROLLUP_RP}"."{INDICATORS}"'
                                                  f' WHERE {where} GROUP BY "province", "unit"')
    out: dict[int, list[StoredValue]] = {}
    for tags, row, personal in rows:
        out.setdefault(int(tags["province"]), []).append(_stored(indicator, tags["unit"], row, personal))
    return out


def _query_values(influx: InfluxClient, database: str, level: str,
                  statement: str) -> list[tuple[dict[str, str], dict[str, Any], bool]]:
    """The rows of ``statement`` with their series' tags and whether the row is from the
    personal database, by series in time order; at a level of ``PERSONAL_LEVELS`` from both
    databases, a point found in both once (the one computed last)."""
    databases = [database] + ([personal_database(database)] if level in PERSONAL_LEVELS else [])
    found: dict[tuple[tuple[tuple[str, str], ...], int], tuple[dict[str, str], dict[str, Any], bool]] = {}
    for db in databases:
        for s in influx.query(db, statement):
            for row in s.rows:
                key = (tuple(sorted(s.tags.items())), row["time"])
                other = found.get(key)
                if other is None or (row.get("computed_at") or 0) > (other[1].get("computed_at") or 0):
                    found[key] = (s.tags, row, db != database)
    return [found[key] for key in sorted(found)]


def _stored(indicator: str, unit: str, row: dict[str, Any], personal: bool) -> StoredValue:
    return StoredValue(indicator, unit, row["label"], row["value"], row["numerator"], row.get("denominator"),
                       row.get("denominator_source"),
                       {k.removeprefix(EVIDENCE_PREFIX): n for k, n in row.items()
                        if k.startswith(EVIDENCE_PREFIX) and n is not None}, personal)


def read_personal_devices(influx: InfluxClient, database: str, *, start_ms: int, end_ms: int) -> set[str]:
    """The devices with daily aggregates in the personal database over the days in
    [start_ms, end_ms): a household's readings are in their values."""
    return {s.tags["device"] for s in influx.query(personal_database(database), (
        f'SELECT last("readings") FROM "{ROLLUP_RP}"."{DEVICE_DAILY}"'
        f' WHERE time >= {start_ms}ms AND time < {end_ms}ms GROUP BY "device"')) if s.rows}


def read_activity(influx: InfluxClient, database: str, *, start_ms: int,
                  end_ms: int) -> dict[str, tuple[float, float]]:
    """Per device, its readings and filled intervals over the days in [start_ms, end_ms),
    household meters' included (a device moved to or from a household: both summed)."""
    out: dict[str, tuple[float, float]] = {}
    for db in (database, personal_database(database)):
        for s in influx.query(db, (
                f'SELECT sum("readings") AS "readings", sum("intervals") AS "intervals"'
                f' FROM "{ROLLUP_RP}"."{DEVICE_DAILY}" WHERE time >= {start_ms}ms AND time < {end_ms}ms'
                ' GROUP BY "device"')):
            readings, intervals = out.get(s.tags["device"], (0.0, 0.0))
            out[s.tags["device"]] = (readings + (s.rows[0]["readings"] or 0.0),
                                     intervals + (s.rows[0]["intervals"] or 0.0))
    return out


def read_device_aggregates(influx: InfluxClient, database: str, device: str, *, resolution: str,
                           start_ms: int, end_ms: int) -> list[dict[str, float | int]]:
    """A device's hourly or daily points: time, readings, intervals, gauges' means and
    counters' increases."""
    series = influx.query(database, (
        f'SELECT * FROM "{ROLLUP_RP}"."{RESOLUTIONS[resolution]}" WHERE "device" = {quote_string(device)}'
        f" AND time >= {start_ms}ms AND time < {end_ms}ms"))
    return [{k: v for k, v in row.items() if v is not None and (
                k in ("time", "readings", "intervals") or k.endswith(("_mean", "_increase")))}
            for s in series for row in s.rows]


def read_devices_aggregates(influx: InfluxClient, database: str, devices: Collection[str], *, resolution: str,
                            start_ms: int, end_ms: int) -> dict[str, list[dict[str, float | int]]]:
    """``read_device_aggregates`` of several devices in one query (one per device made a
    province's open data cost as many queries as it has stations), by device."""
    if not devices:
        return {}
    wanted = " OR ".join(f'"device" = {quote_string(d)}' for d in sorted(devices))
    series = influx.query(database, (
        f'SELECT * FROM "{ROLLUP_RP}"."{RESOLUTIONS[resolution]}" WHERE ({wanted})'
        f' AND time >= {start_ms}ms AND time < {end_ms}ms GROUP BY "device"'))
    return {s.tags["device"]: [{k: v for k, v in row.items() if v is not None and (
                k in ("time", "readings", "intervals") or k.endswith(("_mean", "_increase")))}
                               for row in s.rows]
            for s in series}


def read_last_hours(influx: InfluxClient, database: str, devices: Iterable[str], *, start_ms: int,
                    end_ms: int) -> dict[str, str]:
    """When each device last had an hour with readings in [start_ms, end_ms) (ISO 8601,
    UTC), as far as the rollup has computed (household meters' included). Bounded: an
    unbounded ``last()`` reads every device's whole history."""
    wanted = set(devices)
    if not wanted:
        return {}
    series = [s for db in (database, personal_database(database)) for s in influx.query(
        db, f'SELECT last("readings") FROM "{ROLLUP_RP}"."{DEVICE_HOURLY}"'
            f' WHERE time >= {start_ms}ms AND time < {end_ms}ms GROUP BY "device"')]
    series.sort(key=lambda s: s.rows[0]["time"] if s.rows else 0)  # a device in both: the later
    return {s.tags["device"]: dt.datetime.fromtimestamp(s.rows[0]["time"] / 1000, dt.UTC).isoformat()
            for s in series if s.tags.get("device") in wanted and s.rows}
