"""The takeover count (gateway/takeover.py): pure, times passed in."""

from __future__ import annotations

from iotgw.gateway.takeover import TakeoverWatch


def _watch() -> TakeoverWatch:
    return TakeoverWatch(count=3, window_s=60, backoff_min_s=2, backoff_max_s=10)


def test_a_conflict_is_told_once_at_the_third_takeover_in_the_window_and_backs_off() -> None:
    watch = _watch()
    assert [watch.taken_over(t) for t in (0.0, 1.0)] == [False, False] and watch.conflict == 0
    assert watch.taken_over(2.0) is True
    assert (watch.conflict, watch.first_s, watch.delay_s) == (3, 0.0, 2)
    delays = []
    for t in (5.0, 9.0, 20.0, 40.0):
        assert watch.taken_over(t) is False  # told once
        delays.append(watch.delay_s)
    assert delays == [4, 8, 10, 10] and watch.conflict == 7


def test_losses_spread_wider_than_the_window_are_no_conflict() -> None:
    """A flaky link drops now and then: that is no clone."""
    watch = _watch()
    assert not any(watch.taken_over(t) for t in (0.0, 50.0, 100.0, 150.0, 200.0))
    assert watch.conflict == 0


def test_a_connection_held_twice_the_longest_backoff_ends_the_conflict() -> None:
    watch = _watch()
    for t in (0.0, 1.0, 2.0):
        watch.taken_over(t)
    assert watch.held(19.0) is False and watch.conflict == 3  # a clone's turn is shorter
    assert watch.held(20.0) is True and (watch.conflict, watch.delay_s) == (0, 0.0)
    assert watch.held(100.0) is False
    assert watch.taken_over(300.0) is False  # counting starts afresh
