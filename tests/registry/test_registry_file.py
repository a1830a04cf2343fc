"""Readers never create a SQLite registry, and notice when the file at its path is gone or
replaced (issue 26). Real SQLite files; the wall clock is the only thing faked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from iotgw.registry import RegistryError, TagCache, make_engine, session_factory
from iotgw.registry.errors import RegistryUnavailable
from iotgw.registry.health import masked_url, sqlite_file
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tests.registry.soil_registry import Clock, soil_registry_file


def _reading(tmp_path: Path) -> tuple[Path, TagCache, Clock]:
    """A registry file with soil-1 in ward 70, and a reader's cache that has read it."""
    path = soil_registry_file(tmp_path / "registry.sqlite", ward=70)
    clock = Clock()
    cache = TagCache(session_factory(make_engine(f"sqlite:///{path}", must_exist=True)),
                     check_every_s=5, clock=clock)
    assert cache.tags("soil-1").commune == "70"
    return path, cache, clock


def test_a_reader_never_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sub dir" / "registry.sqlite"
    path.parent.mkdir()
    engine = make_engine(f"sqlite:///{path}", must_exist=True)
    assert sqlite_file(engine) == path and masked_url(engine) == f"sqlite:///{path}"
    with pytest.raises(OperationalError, match="unable to open database file"), engine.connect() as c:
        c.execute(text("SELECT 1"))
    assert not path.exists() and list(path.parent.iterdir()) == []
    soil_registry_file(path, ward=70)  # what `iotgw registry init` does: the default engine creates it
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM devices")).scalar() == 1


def test_a_malformed_url_is_a_registry_error_without_its_password() -> None:
    with pytest.raises(RegistryError) as caught:
        make_engine("nosuchdb+nodriver://iotgw:s3cret@db.example/iotgw", must_exist=True)
    assert "db.example" in str(caught.value) and "s3cret" not in str(caught.value)


def test_a_missing_file_then_its_creation(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite"
    clock = Clock()
    cache = TagCache(session_factory(make_engine(f"sqlite:///{path}", must_exist=True)),
                     check_every_s=5, clock=clock)
    with pytest.raises(RegistryUnavailable, match=str(path)):
        cache.tags("soil-1")
    assert cache.freshness.stale and not path.exists()
    soil_registry_file(path, ward=70)
    clock.now = 4.0
    with pytest.raises(RegistryUnavailable):  # not asked again before the next check
        cache.tags("soil-1")
    clock.now = 5.0
    assert cache.tags("soil-1").commune == "70" and not cache.freshness.stale


def test_renamed_away_then_back(tmp_path: Path) -> None:
    """The open connection would still read the renamed file: the path is what counts."""
    path, cache, clock = _reading(tmp_path)
    os.rename(path, tmp_path / "away.sqlite")
    clock.now = 5.0
    assert cache.tags("soil-1").commune == "70"  # the last good tags
    assert cache.freshness.stale and cache.freshness.read_failures == 1
    with pytest.raises(RegistryUnavailable, match="No such file"):
        cache.tags("gw-1")
    assert not path.exists()
    os.rename(tmp_path / "away.sqlite", path)
    clock.now = 10.0
    assert cache.tags("soil-1").commune == "70" and not cache.freshness.stale


def test_a_file_that_is_not_a_database_keeps_the_last_good_tags(tmp_path: Path) -> None:
    path, cache, clock = _reading(tmp_path)
    os.rename(path, tmp_path / "good.sqlite")
    (tmp_path / "junk").write_bytes(b"not a database " * 1000)
    os.replace(tmp_path / "junk", path)
    clock.now = 5.0
    assert cache.tags("soil-1").commune == "70"
    assert cache.freshness.stale
    assert "not a database" in str(cache.unreadable)
    os.replace(tmp_path / "good.sqlite", path)
    clock.now = 10.0
    assert cache.tags("soil-1").commune == "70" and not cache.freshness.stale


def test_a_replaced_file_is_read_even_at_the_same_revision(tmp_path: Path) -> None:
    path, cache, clock = _reading(tmp_path)
    soil_registry_file(tmp_path / "other.sqlite", ward=73)
    os.replace(tmp_path / "other.sqlite", path)
    clock.now = 4.9
    assert cache.tags("soil-1").commune == "70"  # within the interval
    clock.now = 5.0
    assert cache.tags("soil-1").commune == "73" and not cache.freshness.stale
