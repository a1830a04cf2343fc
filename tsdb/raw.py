"""Reads of what ingest writes to the raw retention policy, for the API (see ``tsdb.schema``)."""

from __future__ import annotations

from tsdb.client import InfluxClient, quote_string
from tsdb.line_protocol import FieldValue
from tsdb.schema import GATEWAY_HEALTH, RAW_RP, TELEMETRY

Row = dict[str, FieldValue | None]


def read_readings(influx: InfluxClient, database: str, device: str, *, start_ms: int,
                  end_ms: int) -> list[Row]:
    """A device's stored readings in [start_ms, end_ms): time, the quantities, quality."""
    series = influx.query(database, (
        f'SELECT * FROM "{RAW_RP}"."{TELEMETRY}" WHERE "device" = {quote_string(device)}'
        f" AND time >= {start_ms}ms AND time < {end_ms}ms"))
    return [{k: v for k, v in row.items() if v is not None and k not in ("device", "gateway")}
            for s in series for row in s.rows]


def read_last_health(influx: InfluxClient, database: str) -> dict[str, Row]:
    """Each gateway's last status and heartbeat numbers (``online``, buffer depth, ...)."""
    return {s.tags["gateway"]: {k.removeprefix("last_"): v for k, v in s.rows[0].items()
                                if k != "time" and v is not None}
            for s in influx.query(database, f'SELECT last(*) FROM "{RAW_RP}"."{GATEWAY_HEALTH}"'
                                            ' GROUP BY "gateway"') if s.rows}
