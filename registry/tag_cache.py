"""Device -> tags, for ingest: a read-through cache refreshed when the registry changes.

Every flush that touches organisations, gateways, devices, placements or wards increments
``registry_revision`` (a hook on the registry's sessions, so no writer can forget). The
cache reads that one row at most every ``check_every_s`` and starts over when it moved,
so a move shows in tags within that time, and a hit costs no query at all.
"""

from __future__ import annotations

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
    installed_ms: int = 0  # not a tag: readings before it are implausible

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


def lookup_tags(session: Session, device_id: str) -> DeviceTags | None:
    """The device's current tags straight from the registry; None if it is not placed."""
    org = aliased(Organisation)
    row = session.execute(
        select(Device, Placement, Ward, org)
        .join(Placement, (Placement.subject_id == Device.id)
              & (Placement.subject_kind == SubjectKind.DEVICE) & Placement.valid_to.is_(None))
        .join(Ward, Ward.code == Placement.ward_code)
        .outerjoin(org, org.id == Placement.organisation_id)
        .where(Device.id == device_id)).first()
    if row is None:
        return None
    device, placement, ward, organisation = row
    return DeviceTags(
        device=device.id, gateway=placement.gateway_id or "", profile=device.profile,
        sector=device.sector.value, province=str(ward.province_code), commune=str(ward.code),
        organisation=organisation.id if organisation else "",
        organisation_type=organisation.type.value if organisation else "",
        installed_ms=int(placement.valid_from.timestamp() * 1000),
    )


class TagCache:
    """Thread-compatible for one reader (ingest's service thread)."""

    def __init__(self, sessions: sessionmaker[Session], *, check_every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions = sessions
        self._check_every_s = check_every_s
        self._clock = clock
        self._entries: dict[str, DeviceTags | None] = {}
        self._revision = -1
        self._checked_at = float("-inf")
        self.loads = 0  # registry lookups made, for metrics and tests

    def tags(self, device_id: str) -> DeviceTags | None:
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
                self._entries[device_id] = lookup_tags(session, device_id)
            self.loads += 1
        return self._entries[device_id]
