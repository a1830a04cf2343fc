"""InfluxDB's "partial write" answer against a real influxd: it is read into ``PartialWrite``
with how many points were dropped and the field type conflict it names, and the rest of
the write is stored."""

from __future__ import annotations

import time

import pytest
from iotgw.tsdb import InfluxClient, WriteRejected
from iotgw.tsdb.errors import FieldTypeConflict, PartialWrite

pytestmark = pytest.mark.integration


def test_a_field_type_conflict_is_a_partial_write_and_the_rest_is_stored(
        influx: InfluxClient, database: str) -> None:
    now = int(time.time() * 1000)
    influx.write_lines(database, f'telemetry,device=X voltage="n/a" {now}')
    lines = [f"telemetry,device=A voltage=230.5 {now}", f"telemetry,device=A current=1.5 {now}",
             f"telemetry,device=X voltage=229.0 {now + 1}", f"telemetry,device=B current=2.5 {now}"]
    with pytest.raises(PartialWrite) as caught:
        influx.write_lines(database, "\n".join(lines))
    assert caught.value.status == 400 and caught.value.dropped == 2
    assert caught.value.conflict == FieldTypeConflict("telemetry", "voltage", "float", "string")
    assert [caught.value.conflict.involves(line) for line in lines] == [True, False, True, False]
    assert "7 days" in caught.value.conflict.advice()
    rows = influx.query(database, 'SELECT "current" FROM "telemetry" WHERE "current" > 0')[0].rows
    assert [row["current"] for row in rows] == [1.5, 2.5]


def test_a_write_of_which_nothing_is_stored_is_a_plain_rejection(
        influx: InfluxClient, database: str) -> None:
    with pytest.raises(WriteRejected) as caught:
        influx.write_lines(database, "no fields here")
    assert not isinstance(caught.value, PartialWrite)
    assert "unable to parse" in caught.value.body


def test_an_unparsable_line_beside_good_ones_is_a_partial_write_of_none_dropped(
        influx: InfluxClient, database: str) -> None:
    """InfluxDB 1.x stores the lines it can parse and counts in ``dropped`` only points it
    parsed: the unparsable line is not counted."""
    with pytest.raises(PartialWrite) as caught:
        influx.write_lines(database, "m v=1.5 1000\nno fields here")
    assert caught.value.dropped == 0 and caught.value.conflict is None
    assert influx.query(database, 'SELECT "v" FROM "m"')[0].rows == [{"time": 1000, "v": 1.5}]
