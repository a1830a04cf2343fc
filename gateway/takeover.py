"""Telling that another client is connected with this gateway's id (a cloned SD card).

Two agents with one id take the broker session from each other: each connection is
accepted, then closed by the broker when the other connects. MQTT 5 names this DISCONNECT
reason 0x8E "Session taken over", but Mosquitto 2.0.11 (measured) sends no DISCONNECT at
all: it just closes the old connection, which paho reports as a lost connection
("Unspecified error"). So a takeover here is either: 0x8E where a broker sends it, or a
connection the broker closed (not a keepalive timeout, not our own disconnect) whose
reconnection it accepted at once; a broker restarting refuses it, so that is no takeover.
In a conflict, every connection the broker closes counts at once, so the backoff applies.

A dropping 4G link can look the same, so one such loss means nothing: ``count`` of them
within ``window_s`` is a conflict. Then both clones back off: each takeover doubles the
victim's reconnect delay, from ``backoff_min_s`` up to ``backoff_max_s``, so the pair goes
from one takeover a second to one per ``backoff_max_s``, and each still gets its turns
(its spell connected is the other's delay), drains its buffer and reports the conflict in
its heartbeat. The conflict ends once a connection has held for twice ``backoff_max_s``,
which a clone taking its turns never allows.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

SESSION_TAKEN_OVER = 0x8E
CONNECTION_LOST = "Unspecified error"  # paho's reason for a connection the broker closed


@dataclass
class TakeoverWatch:
    """Counts takeovers and holds the conflict's state. Pure: times are passed in."""

    count: int
    window_s: float
    backoff_min_s: float
    backoff_max_s: float
    conflict: int = 0  # takeovers in the current conflict; 0: none (the ``id_conflicts`` number)
    delay_s: float = 0.0  # reconnect delay while in conflict
    first_s: float = 0.0  # when the first takeover counted in the conflict happened
    _times: deque[float] = field(default_factory=deque)

    def taken_over(self, now: float) -> bool:
        """Record a takeover at ``now``; True exactly when it makes a new conflict (say so
        then, once). While in conflict, each takeover doubles the delay."""
        self._times.append(now)
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()
        if self.conflict:
            self.conflict += 1
            self.delay_s = min(self.backoff_max_s, self.delay_s * 2)
            return False
        if len(self._times) < self.count:
            return False
        self.conflict = len(self._times)
        self.first_s = self._times[0]
        self.delay_s = min(self.backoff_max_s, self.backoff_min_s)
        return True

    def held(self, connected_for_s: float) -> bool:
        """A connection up this long ends the conflict; True when it just ended."""
        if not self.conflict or connected_for_s < 2 * self.backoff_max_s:
            return False
        self.conflict = 0
        self.delay_s = 0.0
        self._times.clear()
        return True
