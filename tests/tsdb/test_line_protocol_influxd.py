"""Issue 2, must-show 7: hostile names and values survive a round trip through a real influxd."""

from __future__ import annotations

import time

import pytest
from iotgw.tsdb import InfluxClient, Point

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
