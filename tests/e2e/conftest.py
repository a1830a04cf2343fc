"""The spine harness for every end-to-end test: real broker, database and iotgw processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from iotgw.localstack import Influxd, Mosquitto
from tests.e2e.spine import Spine
from tsdb import InfluxClient


@pytest.fixture
def spine(broker: Mosquitto, influxd: Influxd, influx: InfluxClient, database: str,
          unique_name: str, workdir: Path) -> Iterator[Spine]:
    harness = Spine(broker, influxd, influx, database, unique_name, workdir)
    yield harness
    harness.close()
