"""Per-device hourly and daily aggregates, computed by InfluxQL and written back as points.

Only ``SELECT ... GROUP BY time(...)`` is used (no ``SELECT INTO``, no continuous queries),
so the same statements run on InfluxDB 1.x, 2.x (v1 API) and 3.x.

Hourly, per device (``rollup.device_hourly``), from ``telemetry`` (readings of quality
"bad" are stored apart, in ``telemetry_bad``, so no query here filters on quality):

- gauges: ``{q}_mean``, ``_min``, ``_max``, ``_count``, ``_last`` and ``_sum``; the mean
  is sum over count, in Python (one aggregate fewer for influxd to run), which also makes
  a day's mean the readings' mean, not a mean of hourly means;
- counters (kWh, m3): ``{q}_increase`` with reset handling, and ``_min``, ``_max``,
  ``_last``, ``_count``. The increase is the sum of the non-negative steps between
  consecutive readings plus, where the counter went down (a meter replaced or reset), the
  new reading (the counter restarted from zero). Steps are taken from the last reading
  before the hour (looking back ``counter_lookback_ms``), so consumption between hours is
  not lost; after a longer silence, the first step is not counted;
- ``readings``: readings stored; ``intervals``: expected reporting intervals with at least
  one reading (the device's ``expected_interval_s``, at most an hour, aligned to the hour).

Daily (``rollup.device_daily``), per Vietnam day, from the hourly points: sums, extremes,
the last value, and the mean as sum over count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from devices import QUANTITIES, Kind
from tsdb import InfluxClient, Point, encode_point, quote_string
from tsdb.schema import DEVICE_HOURLY, HOUR_MS, RAW_RP, ROLLUP_RP, TELEMETRY

GAUGES = tuple(q.name for q in QUANTITIES.values() if q.kind is Kind.GAUGE)
COUNTERS = tuple(q.name for q in QUANTITIES.values() if q.kind is Kind.COUNTER)

Fields = dict[str, float]
Aggregates = dict[tuple[str, int], Fields]  # (device, bucket start ms) -> fields


def _raw(measurement: str = TELEMETRY) -> str:
    return f'"{RAW_RP}"."{measurement}"'


def _window(start_ms: int, end_ms: int) -> str:
    return f"time >= {start_ms}ms AND time < {end_ms}ms"


def _collect(influx: InfluxClient, database: str, statement: str, into: Aggregates) -> None:
    for series in influx.query(database, statement):
        device = series.tags.get("device", "")
        for row in series.rows:
            fields = into.setdefault((device, row["time"]), {})
            fields.update({k: v for k, v in row.items() if k != "time" and v is not None})


def _statistics(influx: InfluxClient, database: str, start_ms: int, end_ms: int,
                into: Aggregates) -> None:
    selectors = ['count("quality") AS "readings"']
    for q in GAUGES:
        selectors += [f'{fn}("{q}") AS "{q}_{fn}"' for fn in ("min", "max", "count", "last", "sum")]
    for q in COUNTERS:
        selectors += [f'{fn}("{q}") AS "{q}_{fn}"' for fn in ("min", "max", "count", "last")]
    _collect(influx, database, (
        f"SELECT {', '.join(selectors)} FROM {_raw()} WHERE {_window(start_ms, end_ms)}"
        ' GROUP BY time(1h), "device" fill(none)'), into)
    _add_means(into)


def _add_means(aggregates: Aggregates) -> None:
    for fields in aggregates.values():
        for q in GAUGES:
            if fields.get(f"{q}_count"):
                fields[f"{q}_mean"] = fields[f"{q}_sum"] / fields[f"{q}_count"]


def _intervals(influx: InfluxClient, database: str, start_ms: int, end_ms: int,
               interval_s: Mapping[str, int], into: Aggregates) -> None:
    """Intervals with data, one query per distinct interval (fleets have few)."""
    by_bucket: dict[int, set[str]] = defaultdict(set)
    for device, seconds in interval_s.items():
        by_bucket[min(seconds, 3600)].add(device)
    for bucket, devices in sorted(by_bucket.items()):
        found: Aggregates = {}
        _collect(influx, database, (
            f'SELECT count("c") AS "intervals" FROM (SELECT count("quality") AS "c" FROM {_raw()}'
            f' WHERE {_window(start_ms, end_ms)}'
            f' GROUP BY time({bucket}s), "device" fill(none)) WHERE {_window(start_ms, end_ms)}'
            ' GROUP BY time(1h), "device" fill(none)'), found)
        for (device, hour), fields in found.items():
            if device in devices and (device, hour) in into:
                into[device, hour]["intervals"] = fields["intervals"]


def _increases(influx: InfluxClient, database: str, start_ms: int, end_ms: int,
               lookback_ms: int, into: Aggregates) -> None:
    # An outer query's time range also narrows its subquery, so both span the lookback and
    # the steps before ``start_ms`` are dropped here.
    window = _window(start_ms - lookback_ms, end_ms)
    inner = f'WHERE {window} GROUP BY "device"'
    for q in COUNTERS:
        steps: Aggregates = {}
        _collect(influx, database, (
            f'SELECT sum("d") AS "{q}_increase" FROM (SELECT non_negative_difference("{q}") AS "d"'
            f' FROM {_raw()} {inner}) WHERE {window} GROUP BY time(1h), "device" fill(none)'), steps)
        resets = influx.query(database, (
            f'SELECT "d" FROM (SELECT difference("{q}") AS "d" FROM {_raw()} {inner})'
            f' WHERE "d" < 0 AND {window} GROUP BY "device"'))
        for series in resets:  # rare: a meter replaced or reset; add the restarted count
            device = series.tags["device"]
            for row in series.rows:
                after = influx.query(database, (
                    f'SELECT "{q}" FROM {_raw()} WHERE "device" = {quote_string(device)}'
                    f' AND time = {row["time"]}ms'))
                hour = row["time"] - row["time"] % HOUR_MS
                fields = steps.setdefault((device, hour), {})
                fields[f"{q}_increase"] = fields.get(f"{q}_increase", 0.0) + after[0].rows[0][q]
        for key, fields in steps.items():
            if key in into and key[1] >= start_ms:
                into[key].update(fields)


def hourly(influx: InfluxClient, database: str, start_ms: int, end_ms: int, *,
           interval_s: Mapping[str, int], counter_lookback_ms: int) -> Aggregates:
    """Hourly aggregates of every device with readings in [start, end) (whole hours)."""
    out: Aggregates = {}
    _statistics(influx, database, start_ms, end_ms, out)
    if not out:
        return out
    _intervals(influx, database, start_ms, end_ms, interval_s, out)
    _increases(influx, database, start_ms, end_ms, counter_lookback_ms, out)
    return out


def daily(influx: InfluxClient, database: str, start_ms: int, end_ms: int) -> Aggregates:
    """The day [start, end) per device, from its hourly points (one bucket at ``start``)."""
    selectors = ['sum("readings") AS "readings"', 'sum("intervals") AS "intervals"']
    for q in GAUGES:
        selectors += [f'sum("{q}_sum") AS "{q}_sum"', f'sum("{q}_count") AS "{q}_count"',
                      f'min("{q}_min") AS "{q}_min"', f'max("{q}_max") AS "{q}_max"',
                      f'last("{q}_last") AS "{q}_last"']
    for q in COUNTERS:
        selectors += [f'sum("{q}_increase") AS "{q}_increase"', f'sum("{q}_count") AS "{q}_count"',
                      f'min("{q}_min") AS "{q}_min"', f'max("{q}_max") AS "{q}_max"',
                      f'last("{q}_last") AS "{q}_last"']
    found: Aggregates = {}
    _collect(influx, database, (
        f'SELECT {", ".join(selectors)} FROM "{ROLLUP_RP}"."{DEVICE_HOURLY}"'
        f' WHERE {_window(start_ms, end_ms)} GROUP BY "device"'), found)
    out = {(device, start_ms): fields for (device, _), fields in found.items()}
    _add_means(out)
    return out


def write(influx: InfluxClient, database: str, measurement: str, aggregates: Aggregates) -> int:
    """Write the aggregates (recomputing a bucket overwrites its point); returns how many."""
    lines = _lines(measurement, aggregates.items())
    for i in range(0, len(lines), 5_000):
        influx.write_lines(database, "\n".join(lines[i:i + 5_000]), retention_policy=ROLLUP_RP)
    return len(lines)


def _lines(measurement: str, items: Iterable[tuple[tuple[str, int], Fields]]) -> list[str]:
    return [encode_point(Point(measurement, {k: float(v) for k, v in fields.items()}, time,
                               {"device": device}))
            for (device, time), fields in items if fields]

