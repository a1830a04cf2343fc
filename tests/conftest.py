"""Real services for the whole suite: one Mosquitto and one influxd per session.

Both run on free loopback ports with their own config and data directories under pytest's
temporary directory, and are stopped at the end. A test may kill either one (the fault
tests do); the function-scoped fixtures start it again before the next test.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from iotgw.tsdb import InfluxClient

from iotgw.processes import Influxd, LocalService, Mosquitto
from tests.e2e.spine import Spine

_names = itertools.count(1)


S = TypeVar("S", bound=LocalService)


def _serve(service: S) -> Iterator[S]:
    service.start()
    yield service
    service.stop()


def _running(service: S) -> S:
    """Start the service again if an earlier test killed or stopped it."""
    if service.proc is None or service.proc.poll() is not None:
        service.start()
    return service


@pytest.fixture(scope="session")
def _mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    yield from _serve(Mosquitto(tmp_path_factory.mktemp("mosquitto")))


@pytest.fixture(scope="session")
def _influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    yield from _serve(Influxd(tmp_path_factory.mktemp("influxd")))


@pytest.fixture
def broker(_mosquitto: Mosquitto) -> Mosquitto:
    """The session's Mosquitto, running."""
    return _running(_mosquitto)


@pytest.fixture
def influxd(_influxd: Influxd) -> Influxd:
    """The session's influxd, running."""
    return _running(_influxd)


@pytest.fixture
def influx(influxd: Influxd) -> Iterator[InfluxClient]:
    with InfluxClient(influxd.url) as client:
        yield client


@pytest.fixture
def unique_name() -> str:
    """A name no other test of this session uses (databases, share groups, gateway ids)."""
    return f"t{os.getpid()}x{next(_names)}"


@pytest.fixture
def database(influx: InfluxClient, unique_name: str) -> str:
    influx.create_database(unique_name)
    return unique_name


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def spine(broker: Mosquitto, influxd: Influxd, influx: InfluxClient, database: str,
          unique_name: str, workdir: Path) -> Iterator[Spine]:
    """Broker, database and iotgw processes for an end-to-end test (tests/e2e/spine.py)."""
    harness = Spine(broker, influxd, influx, database, unique_name, workdir)
    yield harness
    harness.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault suite's table (tests/faults/ledger.py), when any of it ran."""
    from tests.faults.ledger import ROWS, render

    if ROWS:
        terminalreporter.section("faults and abuse: what was survived")
        for line in render(ROWS):
            terminalreporter.write_line(line)
