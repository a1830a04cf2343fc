from __future__ import annotations

import datetime as dt
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st
from iotgw.devices.topics import ID_PATTERN
from iotgw.registry import (
    Device,
    Gateway,
    Sector,
    SubjectKind,
    TagCache,
    lookup_history,
    move,
    place,
    session_factory,
)
from sqlalchemy import Engine, event

from tests.registry.soil_registry import T0, Clock, register_soil_probes


def _register(engine: Engine) -> None:
    register_soil_probes(engine, organisation="coop-1")


def test_tags_come_from_the_registry_and_hits_cost_no_query(engine: Engine) -> None:
    _register(engine)
    clock = Clock()
    cache = TagCache(session_factory(engine), check_every_s=5, clock=clock)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    tags = cache.tags("soil-1")
    assert tags is not None and tags.as_tags() == {
        "device": "soil-1", "gateway": "gw-1", "profile": "soil_probe", "sector": "agriculture",
        "province": "1", "commune": "70", "organisation": "coop-1",
        "organisation_type": "agricultural_cooperative"}
    before = len(statements)
    for _ in range(100):
        clock.now += 0.01
        assert cache.tags("soil-1") == tags
    assert len(statements) == before and cache.loads == 1


def test_a_move_shows_once_the_revision_is_checked(engine: Engine) -> None:
    _register(engine)
    clock = Clock()
    cache = TagCache(session_factory(engine), check_every_s=5, clock=clock)
    assert cache.tags("soil-1").commune == "70"
    with session_factory(engine)() as session, session.begin():
        move(session, SubjectKind.DEVICE, "soil-1", at=T0 + dt.timedelta(days=1), ward_code=73,
             organisation_id=None)
    clock.now += 4.9
    assert cache.tags("soil-1").commune == "70"  # within the interval: cached
    clock.now += 0.2
    moved = cache.tags("soil-1")
    assert (moved.commune, moved.organisation) == ("73", "")
    assert "organisation" not in moved.as_tags()


def test_an_unregistered_device_costs_no_query_and_nothing_kept(engine: Engine) -> None:
    """A gateway naming ever-new ids (valid ones) neither queries the registry per id nor
    grows the cache: only placed devices' histories are read, each once."""
    register_soil_probes(engine, ("soil-1", "soil-2"), organisation="coop-1")
    cache = TagCache(session_factory(engine), check_every_s=5, clock=Clock())
    assert cache.tags("soil-1") is not None  # the first check: the revision and the placed ids
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    tracemalloc.start()
    try:
        cache.history("x-warm-up")
        before = tracemalloc.get_traced_memory()[0]
        assert all(cache.history(f"x-{n:06d}") is None for n in range(5_000))
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert statements == [] and cache.loads == 1
    assert grown < 20_000, f"{grown} bytes kept for 5,000 unregistered ids"  # 500 KiB when kept
    assert (cache.freshness.placed, cache.freshness.held) == (2, 1)
    assert cache.tags("soil-2").device == "soil-2" and len(statements) == 1 and cache.loads == 2
    assert cache.tags("soil-2") is not None and len(statements) == 1
    assert (cache.freshness.placed, cache.freshness.held) == (2, 2)


def test_a_device_registered_later_shows_within_the_interval(engine: Engine) -> None:
    register_soil_probes(engine)
    clock = Clock()
    cache = TagCache(session_factory(engine), check_every_s=5, clock=clock)
    assert cache.tags("soil-9") is None
    with session_factory(engine)() as session, session.begin():
        session.add(Device(id="soil-9", profile="soil_probe", sector=Sector.AGRICULTURE,
                           expected_interval_s=300, installed_on=T0.date()))
        session.flush()
        place(session, SubjectKind.DEVICE, "soil-9", at=T0, ward_code=70, gateway_id="gw-1")
    clock.now = 4.9
    assert cache.tags("soil-9") is None  # as a move: not before the next check
    clock.now = 5.0
    assert cache.tags("soil-9").gateway == "gw-1" and cache.freshness.placed == 2


def test_a_device_unplaced_behind_the_revisions_back_is_asked_once(engine: Engine) -> None:
    """Its id was read as placed, its placements went without a revision bump (a raw SQL
    delete): one query finds nothing, and it is not asked again."""
    register_soil_probes(engine, ("soil-1", "soil-2"))
    cache = TagCache(session_factory(engine), check_every_s=5, clock=Clock())
    assert cache.tags("soil-1") is not None
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM placements WHERE subject_id = 'soil-2'")
    assert cache.history("soil-2") is None and cache.loads == 2
    assert cache.history("soil-2") is None and cache.loads == 2
    assert (cache.freshness.placed, cache.freshness.held) == (1, 1)


_PLACED = ("soil-1", "soil-2", "Soil-3", "s.4", "5")
_NEAR = st.sampled_from([*_PLACED, "soil-3", "SOIL-1", "soil-10", "soil-", "s", "s.", "soil_1", "50"])
_IDS = st.lists(st.one_of(_NEAR, st.from_regex(ID_PATTERN, fullmatch=True)), max_size=30)


def test_any_valid_id_is_answered_as_the_registry_would(engine: Engine) -> None:
    """Hostile ids in the valid shape (near misses of placed ones by case, prefix or
    separator, and any other): the cache answers as ``lookup_history`` does, asks the
    registry only about placed devices, each once, and holds only their histories."""
    register_soil_probes(engine, _PLACED)
    sessions = session_factory(engine)

    @settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @given(_IDS)
    def answers(ids: list[str]) -> None:
        cache = TagCache(sessions, check_every_s=5, clock=Clock())
        for device_id in ids:
            with sessions() as session:
                expected = lookup_history(session, device_id)
            assert cache.history(device_id) == expected
        asked = set(ids) & set(_PLACED)
        assert cache.loads == len(asked) == cache.freshness.held
        assert cache.freshness.placed == (len(_PLACED) if ids else 0)

    answers()


def test_last_seen_updates_do_not_invalidate_the_cache(engine: Engine) -> None:
    from iotgw.registry import revision
    from iotgw.registry.placements import mark_seen

    _register(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        before = revision(session)
    with sessions() as session, session.begin():
        assert mark_seen(session, {"gw-1": T0 + dt.timedelta(days=2), "ghost": T0}) == 1
    with sessions() as session, session.begin():
        assert mark_seen(session, {"gw-1": T0 + dt.timedelta(days=1)}) == 0  # never backwards
        assert revision(session) == before
        session.get(Gateway, "gw-1").latitude = 10.5  # a real change does count
    with sessions() as session:
        assert revision(session) == before + 1
        assert session.get(Gateway, "gw-1").last_seen_at == T0 + dt.timedelta(days=2)


def test_history_tags_a_reading_by_where_its_device_was_at_its_time(engine: Engine) -> None:
    _register(engine)
    moved_at = T0 + dt.timedelta(days=1)
    with session_factory(engine)() as session, session.begin():
        session.add(Gateway(id="gw-2", installed_on=T0.date()))
        session.flush()
        move(session, SubjectKind.DEVICE, "soil-1", at=moved_at, ward_code=73, gateway_id="gw-2")
    history = TagCache(session_factory(engine), clock=Clock()).history("soil-1")
    ms = int(moved_at.timestamp() * 1000)
    assert history is not None and history.installed_ms == int(T0.timestamp() * 1000)
    assert (history.at(ms - 1).gateway, history.at(ms - 1).commune) == ("gw-1", "70")
    assert (history.at(ms).gateway, history.at(ms).commune) == ("gw-2", "73")
    assert history.at(history.installed_ms - 1) is None
    assert history.current == history.at(ms) and history.current.installed_ms == history.installed_ms


def _rename_revision_table(engine: Engine, old: str, new: str) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")


def test_an_unreadable_registry_keeps_the_last_good_tags(engine: Engine, caplog) -> None:
    """Issue 26: a failed revision check keeps every entry, says since when the tags are
    stale, warns once a minute naming the registry, and reads again only at the next check."""
    import logging

    from iotgw.registry.errors import RegistryUnavailable

    _register(engine)
    clock = Clock()
    cache = TagCache(session_factory(engine), check_every_s=5, clock=clock)
    known = cache.tags("soil-1")
    assert known is not None and cache.freshness.stale_s() == 0
    _rename_revision_table(engine, "registry_revision", "registry_revision_away")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    caplog.set_level(logging.WARNING, logger="iotgw.registry.tag_cache")
    clock.now = 5.0
    assert cache.tags("soil-1") == known  # the check failed: served from the cache
    assert cache.freshness.stale and cache.freshness.read_failures == 1
    try:
        cache.tags("never-seen")
        raise AssertionError("a device never seen cannot be answered while the registry is unreadable")
    except RegistryUnavailable as exc:
        assert "unreadable" in str(exc) and cache.url in str(exc)
    tried = len(statements)
    for step in range(40):  # 4 s: within the interval nothing is asked of the registry
        clock.now = 5.1 + step * 0.1
        assert cache.tags("soil-1") == known
    assert len(statements) == tried
    clock.now = 30.0
    assert cache.tags("soil-1") == known
    assert cache.freshness.stale_s() == 30.0  # since the last check that worked, at 0
    assert cache.freshness.read_failures == 2  # the checks at 5 and 30 (the lookup asked nothing)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and cache.url in warnings[0] and "registry_revision" in warnings[0]
    clock.now = 66.0
    cache.check()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2  # a minute later
    _rename_revision_table(engine, "registry_revision_away", "registry_revision")
    clock.now = 71.0
    assert cache.tags("soil-1") == known
    assert cache.freshness.stale_s() == 0 and not cache.freshness.stale
    assert cache.tags("never-seen") is None  # asked again, and not in the registry
