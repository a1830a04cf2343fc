"""Reads of the raw retention policy (see ``tsdb.schema``) for the rollup, the API and the demo:
what ingest writes (readings, gateway health, touched hours) and the API's platform use."""

from __future__ import annotations

from collections.abc import Collection

from iotgw.tsdb.client import InfluxClient, quote_string
from iotgw.tsdb.line_protocol import FieldValue
from iotgw.tsdb.schema import (
    GATEWAY_HEALTH,
    HOUR_MS,
    PLATFORM_USE,
    RAW_RP,
    TELEMETRY,
    TOUCHED_HOURS,
    personal_database,
)

Row = dict[str, FieldValue | None]


def read_readings(influx: InfluxClient, database: str, device: str, *, start_ms: int,
                  end_ms: int) -> list[Row]:
    """A device's stored readings in [start_ms, end_ms): time, the quantities, quality."""
    series = influx.query(database, (
        f'SELECT * FROM "{RAW_RP}"."{TELEMETRY}" WHERE "device" = {quote_string(device)}'
        f" AND time >= {start_ms}ms AND time < {end_ms}ms"))
    return [{k: v for k, v in row.items() if v is not None and k not in ("device", "gateway")}
            for s in series for row in s.rows]


def read_last_health(influx: InfluxClient, database: str, gateways: Collection[str], *,
                     within_days: int) -> dict[str, Row]:
    """The last status and heartbeat numbers (``online``, buffer depth, ...) of each of
    ``gateways`` that reported in the last ``within_days``. Bounded both ways: every
    gateway's whole history, read on each request, grew without end with the fleet."""
    if not gateways:
        return {}
    wanted = " OR ".join(f'"gateway" = {quote_string(g)}' for g in sorted(gateways))
    return {s.tags["gateway"]: {k.removeprefix("last_"): v for k, v in s.rows[0].items()
                                if k != "time" and v is not None}
            for s in influx.query(database, f'SELECT last(*) FROM "{RAW_RP}"."{GATEWAY_HEALTH}"'
                                            f" WHERE ({wanted}) AND time > now() - {int(within_days)}d"
                                            ' GROUP BY "gateway"') if s.rows}


def count_readings(influx: InfluxClient, database: str) -> int:
    """Readings stored, household meters' (in the personal database) included."""
    counts = (influx.query(db, f'SELECT count("quality") FROM "{RAW_RP}"."{TELEMETRY}"')
              for db in (database, personal_database(database)))
    return sum(int(series[0].rows[0]["count"]) if series else 0 for series in counts)


def read_touched_hours(influx: InfluxClient, database: str, *, written_after_ms: int) -> set[int]:
    """Hours (epoch hour numbers) that received readings written after ``written_after_ms``."""
    series = influx.query(database, (
        f'SELECT "written_at" FROM "{RAW_RP}"."{TOUCHED_HOURS}" WHERE "written_at" > {written_after_ms}'))
    return {row["time"] // HOUR_MS for s in series for row in s.rows}


def read_platform_users(influx: InfluxClient, database: str, *, start_ms: int, end_ms: int) -> frozenset[str]:
    """Organisations with authenticated API or dashboard use in [start_ms, end_ms)."""
    return frozenset(
        s.tags["organisation"] for s in influx.query(database, (
            f'SELECT count("requests") FROM "{RAW_RP}"."{PLATFORM_USE}"'
            f' WHERE time >= {start_ms}ms AND time < {end_ms}ms GROUP BY "organisation"'))
        if s.rows and s.rows[0]["count"])
