"""Whether the wall clock can be trusted, for a box without a real-time clock.

A Raspberry Pi boots at the last time it saved (or at 1970) and learns the real time from
NTP later, if the network allows. The kernel knows: ``adjtimex`` answers ``TIME_ERROR``
while the clock is not synchronised (chrony, ntpd and systemd-timesyncd all clear it).
A clock before ``FLOOR_MS`` is wrong whatever the kernel says (this software did not
exist then). Where ``adjtimex`` is unavailable, only the floor is checked.

While the clock is not trusted, the agent keeps readings with their monotonic time and
publishes none of them; once it is, their times are computed from the monotonic clock
(the same boot's) and they are published with quality ``uncertain`` (see
``Buffer.release_untimed``). A reading is never published with a 1970 time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FLOOR_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
_TIME_ERROR = 5


class _Timex(ctypes.Structure):
    # struct timex (Linux): only the size matters for a read; modes = 0 changes nothing.
    _fields_ = [("modes", ctypes.c_uint), ("_rest", ctypes.c_byte * 204)]


@functools.cache
def _adjtimex() -> Callable[..., int] | None:
    """libc's adjtimex, found once: ``find_library`` runs ldconfig, far too slow for the
    poll loop that asks on every turn."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).adjtimex
    except (OSError, AttributeError):
        return None


def kernel_synchronised() -> bool | None:
    """True or False as the kernel says, None where it cannot be asked."""
    adjtimex = _adjtimex()
    if adjtimex is None:
        return None
    state = adjtimex(ctypes.byref(_Timex()))
    return None if state < 0 else state != _TIME_ERROR


def boot_id() -> str:
    """Changes at every boot: monotonic times of another boot cannot be converted."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class ClockSample:
    trusted: bool
    wall_ms: int
    mono_ms: int


class ClockWatch:
    def __init__(self, *, require_sync: bool, wall: Callable[[], float] = time.time,
                 mono: Callable[[], float] = time.monotonic,
                 synchronised: Callable[[], bool | None] = kernel_synchronised) -> None:
        self.require_sync = require_sync
        self._wall, self._mono, self._synchronised = wall, mono, synchronised
        self.boot = boot_id()

    def sample(self) -> ClockSample:
        wall_ms = int(self._wall() * 1000)
        trusted = wall_ms >= FLOOR_MS and not (self.require_sync and self._synchronised() is False)
        return ClockSample(trusted, wall_ms, int(self._mono() * 1000))
