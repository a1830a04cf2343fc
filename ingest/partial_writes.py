"""Which lines of a rejected write InfluxDB does not store, so that only their readings are
dead-lettered and the rest is counted as written.

InfluxDB 1.x answers a write in which some points cannot be stored with HTTP 400 "partial
write: ... dropped=N" (``tsdb.PartialWrite``): it stored the others and does not say which
it dropped. Any other 4xx (``tsdb.WriteRejected``: a line it cannot parse, ...) means
it stored nothing. Either way the lines are written again in parts, which is harmless (a
point already stored is overwritten by itself):

- a part InfluxDB takes whole is stored;
- a part of which it drops every point (``dropped`` equals its size) is dropped whole, one
  request settles it;
- any other part is halved, down to single lines.

The first split follows InfluxDB's answer when it names a field type conflict: the lines
that carry that field of that measurement, and the others. A conflict holds for every
point of that field in the shard, so the usual case takes two requests; when the guess is
wrong, the halving finds the lines all the same.
"""

from __future__ import annotations

from collections.abc import Callable

from iotgw.tsdb.errors import PartialWrite, WriteRejected

# Writes the lines; raises WriteRejected (PartialWrite) as tsdb does; False when stopped
# before they could be written (InfluxDB unavailable until the worker was stopped).
Write = Callable[[list[str]], bool]


class _Stopped(Exception):
    """The worker was stopped while a part was waiting for InfluxDB."""


def find_dropped(lines: list[str], answer: WriteRejected,
                 write: Write) -> list[tuple[int, WriteRejected]] | None:
    """Indices of the ``lines`` InfluxDB does not store, each with its answer to the
    smallest write that showed it, in order; None when stopped before that was known.

    Args:
        lines: the lines of a write InfluxDB rejected.
        answer: its answer to that write.
        write: writes a part again.
    """
    everything = list(range(len(lines)))
    conflict = answer.conflict if isinstance(answer, PartialWrite) else None
    involved = [i for i in everything if conflict is not None and conflict.involves(lines[i])]
    if 0 < len(involved) < len(lines):
        guessed = set(involved)
        parts = [involved, [i for i in everything if i not in guessed]]
    else:  # no guess: halves (a single line too is written again: the answer was the batch's)
        parts = [part for part in (everything[:len(lines) // 2], everything[len(lines) // 2:]) if part]
    dropped: list[tuple[int, WriteRejected]] = []
    try:
        for part in parts:
            _settle(lines, part, write, dropped)
    except _Stopped:
        return None
    return sorted(dropped, key=lambda item: item[0])


def _settle(lines: list[str], part: list[int], write: Write,
            dropped: list[tuple[int, WriteRejected]]) -> None:
    """Write ``part`` again; add to ``dropped`` what InfluxDB does not store of it."""
    try:
        if not write([lines[i] for i in part]):
            raise _Stopped
        return
    except PartialWrite as exc:
        if exc.dropped >= len(part):
            dropped.extend((i, exc) for i in part)
            return
        answer: WriteRejected = exc
    except WriteRejected as exc:
        answer = exc
    if len(part) == 1:
        dropped.append((part[0], answer))
        return
    half = len(part) // 2
    _settle(lines, part[:half], write, dropped)
    _settle(lines, part[half:], write, dropped)
