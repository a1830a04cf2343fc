"""Chunks handed to the broker and not yet confirmed stored by ingest (end-to-end ack).

A PUBACK says the broker has a message, not that its readings are stored: Mosquitto saves
its state once a second and does not restore shared subscriptions, so a broker killed
while it queued messages for an ingest worker that was down loses them. With end-to-end
acknowledgement (``[buffer] stored_ack``) a PUBACK only moves a message's chunks here,
under the message's sequence number; ingest names the numbers whose readings are stored
(or durably dead-lettered) on ``iot/v1/{gateway}/stored``, and only then are the chunks
deleted from the buffer.

Held in memory, not in the buffer: a restarted agent sends every buffered chunk again
anyway (flagged replay), so nothing here needs to survive a restart. For the same reason
the agent's subscription to ``stored`` needs no persistent session: the confirmations are
re-derived, not redelivered. A confirmation sent while the agent was offline is lost, but
on every reconnect all that is handed over is released, sent again, and ingest confirms
it again (a repeated point overwrites itself in InfluxDB). What waited longer than
``[buffer] stored_timeout_s`` for its confirmation (lost, or ingest down that long) is
released too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotgw.gateway.buffer import Pending


@dataclass(frozen=True, slots=True)
class Handed:
    """One message the broker acknowledged: the chunks it carried and when (monotonic s)."""

    ids: list[int]
    count: int
    at: float


class Handover:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._by_seq: dict[int, Handed] = {}
        self._ids: set[int] = set()
        self._last = 0  # no handed-over chunk id is above this (it may overstate)

    def hand(self, seq: int, pending: Pending, now: float) -> None:
        """The broker acknowledged message ``seq``: its chunks wait for ingest."""
        self._by_seq[seq] = Handed(pending.ids, pending.count, now)
        self._ids.update(pending.ids)
        self._last = max(self._last, pending.ids[-1])

    def stored(self, seqs: Iterable[int]) -> list[Handed]:
        """The handed-over messages among ``seqs``, now confirmed stored and forgotten here.
        A number not handed over (sent before a reconnect or restart, confirmed twice) is
        ignored: its chunks were released and go out again under a new number."""
        done = [self._by_seq.pop(seq) for seq in seqs if seq in self._by_seq]
        for handed in done:
            self._ids.difference_update(handed.ids)
        return done

    def release_all(self) -> list[int]:
        """Forget every handed-over chunk (a reconnect: the broker may have lost them); the
        chunk ids, to send again."""
        ids = sorted(self._ids)
        self._by_seq.clear()
        self._ids.clear()
        self._last = 0
        return ids

    def release_expired(self, now: float) -> list[int]:
        """Forget what waited more than ``timeout_s`` for its confirmation; its chunk ids.
        Messages are kept in the order they were handed over, so this stops at the first
        one still within its time: cheap enough for every turn of the agent's loop."""
        expired = []
        for seq, handed in self._by_seq.items():
            if now - handed.at <= self.timeout_s:
                break
            expired.append(seq)
        ids = [i for seq in expired for i in self._by_seq.pop(seq).ids]
        self._ids.difference_update(ids)
        return sorted(ids)

    @property
    def ids(self) -> set[int]:
        """Chunks waiting for their confirmation: not to be taken again meanwhile."""
        return self._ids

    @property
    def last_id(self) -> int:
        """No chunk waiting for its confirmation has a higher id (0 when none waits)."""
        if not self._ids:
            self._last = 0
        return self._last

    @property
    def readings(self) -> int:
        return sum(handed.count for handed in self._by_seq.values())

    def __len__(self) -> int:
        return len(self._by_seq)
