"""Every registry test runs twice: on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from iotgw.registry import make_engine, session_factory, upgrade
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from iotgw.processes import Postgres

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def _postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    service = Postgres(tmp_path_factory.mktemp("postgres"))
    service.start()
    yield service
    service.stop()
    service.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    else:
        postgres: Postgres = request.getfixturevalue("_postgres")
        name = f"registry_{next(_databases)}"
        with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=iotgw dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session
