"""Answers of influxd whose shape the client must read: a series without values."""

from __future__ import annotations

import pytest
from iotgw.tsdb import InfluxClient

pytestmark = pytest.mark.integration


def test_show_shards_reads_a_database_without_shards(influx: InfluxClient, database: str) -> None:
    """InfluxDB answers a series without ``values`` for a database that has no shard yet."""
    influx.create_database(f"{database}_empty")
    influx.write_lines(database, "m v=1.0 1000")
    shards = {s.name: s.rows for s in influx.query(None, "SHOW SHARDS")}
    assert shards[f"{database}_empty"] == []
    assert len(shards[database]) == 1
