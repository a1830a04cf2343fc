"""Issue 2, must-show 7: hostile names and values survive a round trip through a real influxd."""

from __future__ import annotations

import time

import pytest
from iotgw.tsdb import InfluxClient, Point, encode_float_fields

pytestmark = pytest.mark.integration

HOSTILE = [
    "plain",
    "with space",
    "comma,inside",
    "equals=inside",
    'double"quote',
    "single'quote",
    "back\\slash",
    "Đồng Tháp – độ mặn ‰",  # noqa: RUF001 (the en dash is the point)
    "mixed , = \" ' \\x",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_names_and_values_round_trip(influx: InfluxClient, database: str, name: str) -> None:
    now = int(time.time() * 1000)
    string_value = f"{name}\nnext line\\ \"end\""
    point = Point(name, {name: 1.25, "text": string_value, "n": -7, "ok": True}, now, {name: name})
    influx.write_points(database, [point])
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    series = influx.query(database, f'SELECT * FROM "{escaped}" GROUP BY *')
    assert len(series) == 1
    assert series[0].name == name
    assert series[0].tags == {name: name}
    assert series[0].rows == [{"time": now, name: 1.25, "text": string_value, "n": -7, "ok": True}]


EDGE_FLOATS = {"big": 1e16, "small": 1e-7, "negative_zero": -0.0, "subnormal": 5e-324,
               "largest": 1.7976931348623157e308, "whole": 40.0, "tiny": -1.5e-300, "huge": 2.5e22}


def test_float_field_sets_are_stored_as_those_floats(influx: InfluxClient, database: str) -> None:
    """The forms msgspec writes (``1e16``, ``5e-324``, ``40.0``) are floats to InfluxDB, of
    the same values. Not the sign of zero: InfluxDB answers ``-0``, which JSON readers read
    as the integer 0; test_line_protocol.py checks the text keeps it."""
    now = int(time.time() * 1000)
    (field_set,) = encode_float_fields([EDGE_FLOATS])
    assert "1e16" in field_set  # the form repr would write as 1e+16
    influx.write_lines(database, f"edges {field_set} {now}")
    (series,) = influx.query(database, "SELECT * FROM edges")
    assert series.rows == [{"time": now, **EDGE_FLOATS}]
    (types,) = influx.query(database, "SHOW FIELD KEYS FROM edges")
    assert {row["fieldKey"]: row["fieldType"] for row in types.rows} == dict.fromkeys(EDGE_FLOATS, "float")
