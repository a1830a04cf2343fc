"""Device -> where it was, for ingest: a read-through cache refreshed when the registry changes.

A device's history is every placement it had, each with its tags, so a reading is tagged
(and its gateway checked) by where the device was at the reading's time, not where it is
now: a reading buffered before a move and delivered after it keeps its old place.

Every flush that touches organisations, gateways, devices, placements or wards increments
``registry_revision`` (a hook on the registry's sessions, so no writer can forget). The
cache reads that one row at most every ``check_every_s`` and starts over when it moved,
so a move shows in tags within that time, and a hit costs no query at all.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from registry.models import (
    Device,
    Gateway,
    Organisation,
    Placement,
    RegistryRevision,
    SubjectKind,
    Ward,
)

_TRACKED = (Organisation, Gateway, Device, Placement, Ward)


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
        Span(_ms(placement.valid_from), None if placement.valid_to is None else _ms(placement.valid_to),
             DeviceTags(
                 device=device.id, gateway=placement.gateway_id or "", profile=device.profile,
                 sector=device.sector.value, province=str(ward.province_code),
                 commune=str(ward.code), organisation=organisation.id if organisation else "",
                 organisation_type=organisation.type.value if organisation else "",
                 installed_ms=installed_ms))
        for device, placement, ward, organisation in rows)
    return DeviceHistory(spans)


def lookup_tags(session: Session, device_id: str) -> DeviceTags | None:
    """The device's current tags straight from the registry; None if it is not placed now."""
    history = lookup_history(session, device_id)
    return history.current if history else None


class TagCache:
    """Thread-compatible for one reader (ingest's service thread)."""

    def __init__(self, sessions: sessionmaker[Session], *, check_every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions = sessions
        self._check_every_s = check_every_s
        self._clock = clock
        self._entries: dict[str, DeviceHistory | None] = {}
        self._revision = -1
        self._checked_at = float("-inf")
        self.loads = 0  # registry lookups made, for metrics and tests

    def history(self, device_id: str) -> DeviceHistory | None:
        now = self._clock()
        if now - self._checked_at >= self._check_every_s:
            with self._sessions() as session:
                current = revision(session)
            self._checked_at = now
            if current != self._revision:
                self._entries.clear()
                self._revision = current
        if device_id not in self._entries:
            with self._sessions() as session:
                self._entries[device_id] = lookup_history(session, device_id)
            self.loads += 1
        return self._entries[device_id]

    def tags(self, device_id: str) -> DeviceTags | None:
        """The device's current tags; None if it is not placed now."""
        history = self.history(device_id)
        return history.current if history else None
