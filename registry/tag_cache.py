"""Device -> where it was, for ingest: a read-through cache refreshed when the registry changes.

A device's history is every placement it had, each with its tags, so a reading is tagged
(and its gateway checked) by where the device was at the reading's time, not where it is
now: a reading buffered before a move and delivered after it keeps its old place.

Every flush that touches organisations, gateways, devices, placements or wards increments
``registry_revision`` (a hook on the registry's sessions, so no writer can forget). The
cache reads that one row at most every ``check_every_s`` and starts over when it moved,
so a move shows in tags within that time, and a hit costs no query at all.

What is cached, and what bounds it (a gateway may name device ids no one registered, as
many as it likes, in well-formed readings):

- at each revision (and on first use) the ids of every placed device, in one query (about
  0.2 s for 105,000 devices in SQLite), and nothing else: a device outside them is
  answered None at once, with no query and nothing kept, so an id a gateway invents costs
  one dict lookup and its readings are dead-lettered (``unregistered``) without touching
  the registry. A device registered since shows within ``check_every_s``, as a move does;
- a placed device's history, read (one query) the first time one of its readings comes and
  kept until the revision moves: at most one per placed device;
- so the cache is bounded by the registry, not by what gateways send: for a province
  (105,000 devices, every history read) about 45 MiB per ingest worker, about 450 bytes a
  device measured with tracemalloc. Tag values that many devices share (gateway, profile,
  province, commune) are held once, interned;
- ``freshness`` counts the history queries (``lookups``), the placed devices and the
  histories held (``placed``, ``held``): ingest's metrics show them.

The registry being unreadable is not the cache's caller's problem to crash on (issue 26).
What holds now:

- a revision check or a lookup that fails (a SQLAlchemy error, the SQLite file missing or
  not a database) keeps every entry the cache has, which it goes on serving: the last good
  tags. ``freshness`` says since when they are stale and counts the failed reads; a
  warning naming the registry (password masked) and the error is logged at most once a
  minute, and the registry is read again at the next check, never sooner, so a registry
  that is down costs no time per reading;
- a device whose history the cache does not hold while the registry is unreadable raises
  ``RegistryUnavailable`` (unplaced at the last good read or not: it may have been
  registered since): the caller decides (ingest dead-letters its readings);
- for a SQLite file, each check also stats the path (``health.RegistryFile``): a file
  replaced (another inode, e.g. ``mv new.sqlite registry.sqlite``) or written in place makes
  the engine drop its connections, so what is at the path now is read; after a replacement
  every entry is read again (two registries can have the same revision number).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from iotgw.registry.errors import RegistryError, RegistryUnavailable
from iotgw.registry.health import RegistryFile, masked_url
from iotgw.registry.models import (
    Device,
    Gateway,
    Organisation,
    Placement,
    RegistryRevision,
    SubjectKind,
    Ward,
)
from sqlalchemy import Engine, event, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased, sessionmaker

log = logging.getLogger(__name__)

_TRACKED = (Organisation, Gateway, Device, Placement, Ward)
WARN_EVERY_S = 60.0  # a registry that stays unreadable is named in the log this often


@dataclass(frozen=True, slots=True)
class DeviceTags:
    """Identity and place of a device, as InfluxDB tags (absent values are empty strings)."""

    device: str
    gateway: str
    profile: str
    sector: str
    province: str
    commune: str
    organisation: str
    organisation_type: str
    installed_ms: int = 0  # not a tag: the first placement's start; readings before it are implausible

    def as_tags(self) -> dict[str, str]:
        return {k: v for k, v in (
            ("device", self.device), ("gateway", self.gateway), ("profile", self.profile),
            ("sector", self.sector), ("province", self.province), ("commune", self.commune),
            ("organisation", self.organisation), ("organisation_type", self.organisation_type),
        ) if v}


# Columns that no tag is made of: changing only these leaves caches valid.
_NOT_TAGS = {"last_seen_at"}


def _changes_tags(obj: object) -> bool:
    if not isinstance(obj, _TRACKED):
        return False
    changed = {attr.key for attr in inspect(obj).attrs if attr.history.has_changes()}
    return not changed <= _NOT_TAGS


def _note_changes(session: Session, _flush_context: object, _instances: object) -> None:
    touched = (*session.new, *session.deleted)
    if any(isinstance(obj, _TRACKED) for obj in touched) or any(
            _changes_tags(obj) for obj in session.dirty):
        session.info["registry_changed"] = True


def _bump_revision(session: Session, _flush_context: object) -> None:
    if session.info.pop("registry_changed", False):
        session.execute(update(RegistryRevision).values(value=RegistryRevision.value + 1))


def track_changes(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Make every session of ``factory`` bump the registry revision on flushes that change
    what tags are made of (decided before the flush, when changes are still visible)."""
    event.listen(factory, "before_flush", _note_changes)
    event.listen(factory, "after_flush", _bump_revision)
    return factory


def revision(session: Session) -> int:
    return session.scalar(select(RegistryRevision.value).where(RegistryRevision.id == 1)) or 0


@dataclass(frozen=True, slots=True)
class Span:
    """One placement: its tags from ``from_ms`` until ``to_ms`` (None: still in force)."""

    from_ms: int
    to_ms: int | None
    tags: DeviceTags


@dataclass(frozen=True, slots=True)
class DeviceHistory:
    """A device's placements, oldest first."""

    spans: tuple[Span, ...]

    @property
    def installed_ms(self) -> int:
        return self.spans[0].from_ms

    @property
    def current(self) -> DeviceTags | None:
        last = self.spans[-1]
        return last.tags if last.to_ms is None else None

    def at(self, ts_ms: int) -> DeviceTags | None:
        """Tags in force at ``ts_ms``; None before the first placement or between two."""
        for span in reversed(self.spans):  # readings are mostly recent: newest first
            if span.from_ms <= ts_ms:
                return span.tags if span.to_ms is None or ts_ms < span.to_ms else None
        return None


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def _shared(value: str) -> str:
    """One copy of a registry value that many devices carry (a ward, a profile, a gateway):
    a province's cache holds 105,000 devices but a few thousand such values. Only values
    read from the registry are interned, never what a reading names, and not organisations,
    which can be as many as the devices (a household meter each)."""
    return sys.intern(value)


def placed_devices(session: Session) -> Sequence[str]:
    """The ids of every device ``lookup_history`` finds placements for, in one query."""
    return session.scalars(
        select(Placement.subject_id).distinct()
        .join(Device, Device.id == Placement.subject_id)
        .join(Ward, Ward.code == Placement.ward_code)
        .where(Placement.subject_kind == SubjectKind.DEVICE)).all()


def lookup_history(session: Session, device_id: str) -> DeviceHistory | None:
    """Every placement of the device straight from the registry; None if it was never placed."""
    org = aliased(Organisation)
    rows = session.execute(
        select(Device, Placement, Ward, org)
        .join(Placement, (Placement.subject_id == Device.id)
              & (Placement.subject_kind == SubjectKind.DEVICE))
        .join(Ward, Ward.code == Placement.ward_code)
        .outerjoin(org, org.id == Placement.organisation_id)
        .where(Device.id == device_id)
        .order_by(Placement.valid_from)).all()
    if not rows:
        return None
    installed_ms = _ms(rows[0][1].valid_from)
    spans = tuple(
        Span(installed_ms if n == 0 else _ms(placement.valid_from),
             None if placement.valid_to is None else _ms(placement.valid_to),
             DeviceTags(
                 device=device.id, gateway=_shared(placement.gateway_id or ""),
                 profile=_shared(device.profile), sector=device.sector.value,
                 province=_shared(str(ward.province_code)), commune=_shared(str(ward.code)),
                 organisation=organisation.id if organisation else "",
                 organisation_type=organisation.type.value if organisation else "",
                 installed_ms=installed_ms))
        for n, (device, placement, ward, organisation) in enumerate(rows))
    return DeviceHistory(spans)


def lookup_tags(session: Session, device_id: str) -> DeviceTags | None:
    """The device's current tags straight from the registry; None if it is not placed now."""
    history = lookup_history(session, device_id)
    return history.current if history else None


class Freshness:
    """How current a cache's tags are, and what the cache holds and costs. Read by metrics at
    scrape time from another thread: plain attributes, written only by the cache's reader."""

    def __init__(self, clock: Callable[[], float], started: float) -> None:
        self._clock = clock
        self.fresh_at = started  # the last successful revision check (or the start)
        self.stale = False  # the last read of the registry failed
        self.read_failures = 0  # failed revision checks and lookups, ever
        self.lookups = 0  # device histories read from the registry (one query each), ever
        self.placed = 0  # placed devices at the last good read of the revision
        self.held = 0  # device histories held: at most ``placed``

    def stale_s(self) -> float:
        """Seconds since the last successful revision check; 0 while the last read worked."""
        return max(0.0, self._clock() - self.fresh_at) if self.stale else 0.0

    def __repr__(self) -> str:
        return (f"Freshness(stale_s={self.stale_s():.1f}, read_failures={self.read_failures}, "
                f"lookups={self.lookups}, held={self.held}/{self.placed})")


class TagCache:
    """Thread-compatible for one reader (ingest's service thread); ``freshness`` may be read
    from any thread. Never raises for an unreadable registry but ``RegistryUnavailable``
    for a device whose history it does not hold (see the module)."""

    def __init__(self, sessions: sessionmaker[Session], *, check_every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions = sessions
        self._check_every_s = check_every_s
        self._clock = clock
        # Every placed device at the last good read -> its history, None until first asked
        # for: a device outside it is not placed, and is never added (see the module).
        self._entries: dict[str, DeviceHistory | None] = {}
        self._revision: int | None = None  # None: unknown, the next good check starts over
        self._checked_at = float("-inf")
        self._warned_at = float("-inf")
        self._error: RegistryError | None = None  # why the last read failed; None: it worked
        engine: Engine = sessions.kw["bind"]
        self.url = masked_url(engine)
        self._file = RegistryFile(engine)
        self.freshness = Freshness(clock, clock())

    @property
    def loads(self) -> int:
        """Device histories read from the registry (one query each), ever."""
        return self.freshness.lookups

    def check(self) -> None:
        """Read the registry's revision if ``check_every_s`` has passed since the last
        check (worked or not); start over when it moved or the file was replaced, from the
        ids of the devices placed now."""
        now = self._clock()
        if now - self._checked_at < self._check_every_s:
            return
        self._checked_at = now
        try:
            change = self._file.check()
            if change.replaced:
                log.info("registry file %s was replaced: reconnecting and reading every device again",
                         self._file.path)
                self._revision = None
            elif change.changed:
                log.debug("registry file %s changed on disk: reconnecting", self._file.path)
            with self._sessions() as session:
                current = revision(session)
                placed = None if current == self._revision else placed_devices(session)
        except (RegistryError, SQLAlchemyError) as exc:
            self._failed(exc)
            return
        if self._error is not None:
            log.info("registry %s readable again after %.0f s; tags are fresh", self.url,
                     now - self.freshness.fresh_at)
            self._error = None
        self.freshness.fresh_at, self.freshness.stale = now, False
        if placed is not None:
            self._entries = dict.fromkeys(placed)
            self._revision = current
            self.freshness.placed, self.freshness.held = len(self._entries), 0

    def history(self, device_id: str) -> DeviceHistory | None:
        """The device's placements; None if it was never placed.

        Raises:
            RegistryUnavailable: the cache has nothing for the device and the registry
                cannot be read now (not retried before the next check).
        """
        self.check()
        if (history := self._entries.get(device_id)) is not None:
            return history
        if self._error is not None:
            raise RegistryUnavailable(f"registry {self.url} unreadable: {self._error}")
        if device_id not in self._entries:  # not placed: no query, nothing kept
            return None
        try:
            with self._sessions() as session:
                history = lookup_history(session, device_id)
        except (RegistryError, SQLAlchemyError) as exc:
            error = self._failed(exc)
            raise RegistryUnavailable(f"registry {self.url} unreadable: {error}") from exc
        self.freshness.lookups += 1
        del self._entries[device_id]
        if history is None:  # unplaced since the ids were read: the next revision says so
            self.freshness.placed -= 1
        else:  # keyed by the id its tags hold: one copy of the id
            self._entries[history.spans[0].tags.device] = history
            self.freshness.held += 1
        return history

    def tags(self, device_id: str) -> DeviceTags | None:
        """The device's current tags; None if it is not placed now.

        Raises:
            RegistryUnavailable: as ``history``.
        """
        history = self.history(device_id)
        return history.current if history else None

    @property
    def unreadable(self) -> RegistryError | None:
        """Why the last read of the registry failed; None when it worked."""
        return self._error

    def _failed(self, exc: Exception) -> RegistryError:
        """Note a failed read: stale from now until a check works; warn at most once a minute."""
        error = exc if isinstance(exc, RegistryError) else RegistryUnavailable(_first_line(exc))
        self._error = error
        self._checked_at = self._clock()  # the next try is a whole interval away
        self.freshness.stale = True
        self.freshness.read_failures += 1
        if self._checked_at - self._warned_at >= WARN_EVERY_S:
            self._warned_at = self._checked_at
            log.warning("registry %s unreadable, serving the last good tags (%d devices, stale for "
                        "%.0f s; retrying every %g s): %s", self.url, self.freshness.held,
                        self.freshness.stale_s(), self._check_every_s, error)
        return error


def _first_line(exc: Exception) -> str:
    """A SQLAlchemy error without its SQL and its link to the docs."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
