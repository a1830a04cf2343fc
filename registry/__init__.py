"""The registry: administrative units, organisations, gateways, devices, where they were
when, and the reference counts that indicators use as denominators."""

from registry.admin_units import (
    PROVINCE_CODES,
    Succession,
    add_succession,
    reassign_all_retired,
    reassign_retired,
    seed_admin_units,
)
from registry.db import make_engine, session_factory, upgrade
from registry.errors import ImportFailed, NotFound, OutsideProvince, RegistryError, RowError
from registry.models import (
    AccountRole,
    ApiRole,
    ApiToken,
    BrokerAccount,
    Device,
    Gateway,
    Organisation,
    OrgType,
    Placement,
    Province,
    ReferenceCount,
    Sector,
    SubjectKind,
    Ward,
)
from registry.placements import mark_seen, move, place, placements_at, placements_during
from registry.tag_cache import DeviceHistory, DeviceTags, TagCache, lookup_history, lookup_tags, revision

__all__ = [
    "PROVINCE_CODES",
    "AccountRole",
    "ApiRole",
    "ApiToken",
    "BrokerAccount",
    "Device",
    "DeviceHistory",
    "DeviceTags",
    "Gateway",
    "ImportFailed",
    "NotFound",
    "OrgType",
    "Organisation",
    "OutsideProvince",
    "Placement",
    "Province",
    "ReferenceCount",
    "RegistryError",
    "RowError",
    "Sector",
    "SubjectKind",
    "Succession",
    "TagCache",
    "Ward",
    "add_succession",
    "lookup_history",
    "lookup_tags",
    "make_engine",
    "mark_seen",
    "move",
    "place",
    "placements_at",
    "placements_during",
    "reassign_all_retired",
    "reassign_retired",
    "revision",
    "seed_admin_units",
    "session_factory",
    "upgrade",
]
