"""A gateway's last-seen that the registry could not take (locked, down) is recorded with
the next batch that has statuses: a busy registry for a moment must not leave a gateway
looking silent, and batches of readings alone do not wait on it again."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from iotgw.devices.links import RegistryLink
from iotgw.ingest import IngestConfig
from iotgw.ingest.service import IngestService
from iotgw.registry import Gateway, make_engine, session_factory

from tests.registry_setup import add_gateway, seeded_registry, wards_of

SEEN = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


def _last_seen(url: str) -> dt.datetime | None:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return session.get(Gateway, "seen-gw").last_seen_at
    finally:
        engine.dispose()


def test_a_last_seen_the_registry_refused_is_recorded_with_the_next_batch(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    url = seeded_registry(path)
    with session_factory(make_engine(url))() as session, session.begin():
        add_gateway(session, "seen-gw", ward=wards_of(session, 75, 1)[0], at=SEEN - dt.timedelta(days=1))
    service = IngestService(IngestConfig(registry=RegistryLink(url=url),
                                         dead_letter_path=tmp_path / "dead.sqlite"))
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another writer holds the registry past the busy timeout
    try:
        service._mark_seen({"seen-gw": int(SEEN.timestamp() * 1000)})  # a batch with its status
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert _last_seen(url) is None
    service._mark_seen({})  # a batch of readings only does not wait on the registry again
    assert _last_seen(url) is None
    service._mark_seen({"other-gw": int(SEEN.timestamp() * 1000) - 1})  # the next with statuses
    assert _last_seen(url) == SEEN
