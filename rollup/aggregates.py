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

Both take the devices to compute (``devices_with_readings``, ``devices_with_hours``) so that
the caller can go a few at a time: every statement then names them (one regular expression,
``_only``: over 500 ``OR``-ed equalities influxd took several times longer). Every
statement is per device, so a device's values do not depend on which others are computed
with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor

from iotgw.devices import QUANTITIES, Kind
from iotgw.tsdb import InfluxClient, Series, quote_string
from iotgw.tsdb.schema import DEVICE_HOURLY, HOUR_MS, RAW_RP, ROLLUP_RP, TELEMETRY

GAUGES = tuple(q.name for q in QUANTITIES.values() if q.kind is Kind.GAUGE)
COUNTERS = tuple(q.name for q in QUANTITIES.values() if q.kind is Kind.COUNTER)

Fields = dict[str, float]
Aggregates = dict[tuple[str, int], Fields]  # (device, bucket start ms) -> fields


def _raw(measurement: str = TELEMETRY) -> str:
    return f'"{RAW_RP}"."{measurement}"'


def _window(start_ms: int, end_ms: int) -> str:
    return f"time >= {start_ms}ms AND time < {end_ms}ms"


def _only(devices: Collection[str] | None) -> str:
    """A condition selecting ``devices`` (None: every device), to AND to a WHERE clause.
    Each character other than a letter, digit, ``_`` or ``-`` is written ``\\x{..}``, which
    InfluxDB 1.x/2.x (Go) and 3.x (Rust) regular expressions read alike."""
    if devices is None:
        return ""
    escaped = ("".join(c if c.isascii() and (c.isalnum() or c in "_-") else f"\\x{{{ord(c):x}}}" for c in d)
               for d in sorted(devices))
    return f' AND "device" =~ /^(?:{"|".join(escaped)})$/'


def _devices(influx: InfluxClient, database: str, source: str, field: str, start_ms: int,
             end_ms: int) -> list[str]:
    return sorted(s.tags.get("device", "") for s in influx.query(database, (
        f'SELECT count("{field}") FROM {source} WHERE {_window(start_ms, end_ms)} GROUP BY "device"')))


def devices_with_readings(influx: InfluxClient, database: str, start_ms: int, end_ms: int) -> list[str]:
    """The devices with readings in [start, end): those ``hourly`` computes for the window."""
    return _devices(influx, database, _raw(), "quality", start_ms, end_ms)


def devices_with_hours(influx: InfluxClient, database: str, start_ms: int, end_ms: int) -> list[str]:
    """The devices with hourly points in [start, end): those ``daily`` computes for it."""
    return _devices(influx, database, f'"{ROLLUP_RP}"."{DEVICE_HOURLY}"', "readings", start_ms, end_ms)


def _merge(found: list[Series], into: Aggregates) -> None:
    for series in found:
        device = series.tags.get("device", "")
        for row in series.rows:
            fields = into.setdefault((device, row["time"]), {})
            fields.update({k: v for k, v in row.items() if k != "time" and v is not None})


def _submit(pool: Executor, influx: InfluxClient, database: str, statement: str) -> Future[list[Series]]:
    return pool.submit(influx.query, database, statement)


def _statistics(start_ms: int, end_ms: int, only: str) -> list[str]:
    """One statement per quantity: influxd reads a field once per function whatever the
    statement, and with ``fill(none)`` each answers only for the devices that measure it."""
    where = f'WHERE {_window(start_ms, end_ms)}{only} GROUP BY time(1h), "device" fill(none)'
    statements = [f'SELECT count("quality") AS "readings" FROM {_raw()} {where}']
    for q in GAUGES + COUNTERS:
        functions = ("min", "max", "count", "last") + (("sum",) if q in GAUGES else ())
        selectors = ", ".join(f'{fn}("{q}") AS "{q}_{fn}"' for fn in functions)
        statements.append(f"SELECT {selectors} FROM {_raw()} {where}")
    return statements


def _add_means(aggregates: Aggregates) -> None:
    for fields in aggregates.values():
        for q in GAUGES:
            if fields.get(f"{q}_count"):
                fields[f"{q}_mean"] = fields[f"{q}_sum"] / fields[f"{q}_count"]


def _hour_chunks(start_ms: int, end_ms: int, parts: int) -> list[tuple[int, int]]:
    """[start, end) cut into at most ``parts`` runs of whole hours, to spread one costly
    statement over the workers."""
    hours = max(1, (end_ms - start_ms) // HOUR_MS)
    step = -(-hours // parts) * HOUR_MS
    return [(s, min(s + step, end_ms)) for s in range(start_ms, end_ms, step)]


def _intervals(start_ms: int, end_ms: int, bucket_s: int, parts: int, only: str) -> list[str]:
    """Intervals with data for one bucket length: a subquery, the costliest statement of
    the rollup (influxd makes a row of every bucket with a reading), so cut by hours."""
    return [
        f'SELECT count("c") AS "intervals" FROM (SELECT count("quality") AS "c" FROM {_raw()}'
        f' WHERE {_window(s, e)}{only} GROUP BY time({bucket_s}s), "device" fill(none))'
        f' WHERE {_window(s, e)} GROUP BY time(1h), "device" fill(none)'
        for s, e in _hour_chunks(start_ms, end_ms, parts)]


def _increases(influx: InfluxClient, database: str, q: str, start_ms: int, end_ms: int,
               lookback_ms: int, only: str) -> Aggregates:
    # An outer query's time range also narrows its subquery, so both span the lookback and
    # the steps before ``start_ms`` are dropped by the caller.
    window = _window(start_ms - lookback_ms, end_ms)
    inner = f'WHERE {window}{only} GROUP BY "device"'
    steps: Aggregates = {}
    _merge(influx.query(database, (
        f'SELECT sum("d") AS "{q}_increase" FROM (SELECT non_negative_difference("{q}") AS "d"'
        f' FROM {_raw()} {inner}) WHERE {window} GROUP BY time(1h), "device" fill(none)')), steps)
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
    return steps


def hourly(influx: InfluxClient, database: str, start_ms: int, end_ms: int, *,
           interval_s: Mapping[str, int], counter_lookback_ms: int, workers: int = 2,
           devices: Collection[str] | None = None) -> Aggregates:
    """Hourly aggregates of the ``devices`` (None: every device) with readings in [start,
    end) (whole hours).

    ``workers`` statements run at once: influxd runs each on about one core. An answer is
    let go once merged: the answers of a statement per quantity outweigh what they make.
    """
    only = _only(devices)
    by_bucket: dict[int, set[str]] = defaultdict(set)  # fleets have few distinct intervals
    for device, seconds in interval_s.items():
        by_bucket[min(seconds, 3600)].add(device)
    with ThreadPoolExecutor(workers) as pool:  # the costliest statements first
        intervals = [(bucketed, _submit(pool, influx, database, statement))
                     for bucket, bucketed in sorted(by_bucket.items())
                     for statement in _intervals(start_ms, end_ms, bucket, workers, only)]
        statistics = [_submit(pool, influx, database, s) for s in _statistics(start_ms, end_ms, only)]
        increases = [pool.submit(_increases, influx, database, q, start_ms, end_ms, counter_lookback_ms, only)
                     for q in COUNTERS]
        out: Aggregates = {}
        while statistics:
            _merge(statistics.pop(0).result(), out)
        _add_means(out)
        while intervals:
            bucketed, future = intervals.pop(0)
            for series in future.result():
                for row in series.rows:
                    key = (series.tags.get("device", ""), row["time"])
                    if key[0] in bucketed and key in out:
                        out[key]["intervals"] = row["intervals"]
        while increases:
            for key, fields in increases.pop(0).result().items():
                if key in out and key[1] >= start_ms:
                    out[key].update(fields)
    return out


def daily(influx: InfluxClient, database: str, start_ms: int, end_ms: int, *,
          workers: int = 2, devices: Collection[str] | None = None) -> Aggregates:
    """The day [start, end) per device of ``devices`` (None: every device), from its hourly
    points (one bucket at ``start``)."""
    statements = [['sum("readings") AS "readings"', 'sum("intervals") AS "intervals"']]
    for q in GAUGES + COUNTERS:
        total = "sum" if q in GAUGES else "increase"
        statements.append([f'sum("{q}_{total}") AS "{q}_{total}"', f'sum("{q}_count") AS "{q}_count"',
                           f'min("{q}_min") AS "{q}_min"', f'max("{q}_max") AS "{q}_max"',
                           f'last("{q}_last") AS "{q}_last"'])
    where = f'WHERE {_window(start_ms, end_ms)}{_only(devices)} GROUP BY "device"'
    found: Aggregates = {}
    with ThreadPoolExecutor(workers) as pool:
        futures = [_submit(pool, influx, database, (
            f'SELECT {", ".join(selectors)} FROM "{ROLLUP_RP}"."{DEVICE_HOURLY}" {where}'))
            for selectors in statements]
        while futures:
            _merge(futures.pop(0).result(), found)
    out = {(device, start_ms): fields for (device, _), fields in found.items()}
    _add_means(out)
    return out
