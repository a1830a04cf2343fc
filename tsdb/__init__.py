"""The one InfluxDB client of the project (HTTP API: line protocol and InfluxQL)."""

from iotgw.tsdb.client import Backoff, InfluxClient, Series, quote_string
from iotgw.tsdb.errors import LineProtocolError, QueryFailed, TsdbError, Unavailable, WriteRejected
from iotgw.tsdb.line_protocol import (
    FieldValue,
    Point,
    encode_fields,
    encode_float_fields,
    encode_line,
    encode_point,
    encode_points,
    series_key,
)

__all__ = [
    "Backoff",
    "FieldValue",
    "InfluxClient",
    "LineProtocolError",
    "Point",
    "QueryFailed",
    "Series",
    "TsdbError",
    "Unavailable",
    "WriteRejected",
    "encode_fields",
    "encode_float_fields",
    "encode_line",
    "encode_point",
    "encode_points",
    "quote_string",
    "series_key",
]
