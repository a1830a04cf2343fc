"""Finding the lines InfluxDB drops from a write, against a real influxd: exactly those,
in few requests when its answer names a field type conflict, and by halving otherwise."""

from __future__ import annotations

import time

import pytest
from iotgw.ingest.partial_writes import find_dropped
from iotgw.tsdb import InfluxClient, WriteRejected
from iotgw.tsdb.errors import PartialWrite

pytestmark = pytest.mark.integration


def _first_answer(influx: InfluxClient, database: str, lines: list[str]) -> WriteRejected:
    with pytest.raises(WriteRejected) as caught:
        influx.write_lines(database, "\n".join(lines))
    return caught.value


def _counting(influx: InfluxClient, database: str, requests: list[int]):
    def write(part: list[str]) -> bool:
        requests.append(len(part))
        influx.write_lines(database, "\n".join(part))
        return True
    return write


def test_a_field_type_conflict_is_found_in_two_requests(influx: InfluxClient, database: str) -> None:
    now = int(time.time() * 1000)
    influx.write_lines(database, f'telemetry,device=X voltage="n/a" {now}')
    lines = [f"telemetry,device=D{n % 7} {'voltage' if n % 3 == 0 else 'current'}={n}.5 {now + n}"
             for n in range(60)]
    answer = _first_answer(influx, database, lines)
    assert isinstance(answer, PartialWrite) and answer.dropped == 20
    requests: list[int] = []
    dropped = find_dropped(lines, answer, _counting(influx, database, requests))
    assert dropped is not None
    assert [i for i, _ in dropped] == [n for n in range(60) if n % 3 == 0]
    assert all("field type conflict" in str(error) for _, error in dropped)
    assert requests == [20, 40]


def test_two_conflicts_and_an_unparsable_line_are_found_by_halving(
        influx: InfluxClient, database: str) -> None:
    now = int(time.time() * 1000)
    influx.write_lines(database, f'a v="s" {now}\nb w=1i {now}')
    lines = [f"c x={n}.0 {now + n}" for n in range(30)]
    lines[3] = f"a v=1.0 {now}"
    lines[17] = f"b w=2.5 {now}"
    lines[22] = "b w"  # cannot be parsed
    answer = _first_answer(influx, database, lines)
    requests: list[int] = []
    dropped = find_dropped(lines, answer, _counting(influx, database, requests))
    assert dropped is not None and [i for i, _ in dropped] == [3, 17, 22]
    assert "unable to parse" in str(dropped[2][1])
    assert len(requests) < 30
    rows = influx.query(database, 'SELECT count("x") FROM "c"')[0].rows
    assert rows[0]["count"] == 27


def test_a_single_line_is_written_again_not_taken_on_the_batch_answer(
        influx: InfluxClient, database: str) -> None:
    """The batch's answer may concern another line of it (its touched hours): the line
    alone is tried."""
    now = int(time.time() * 1000)
    answer = PartialWrite(400, "partial write: dropped=1", dropped=1)
    requests: list[int] = []
    assert find_dropped([f"m v=1.0 {now}"], answer, _counting(influx, database, requests)) == []
    assert requests == [1]


def test_stopped_while_waiting_for_influxdb_is_none() -> None:
    answer = PartialWrite(400, "partial write: dropped=1", dropped=1)
    assert find_dropped(["m v=1.0 1", "m v=2.0 2"], answer, lambda part: False) is None
