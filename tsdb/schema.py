"""Where things are stored in InfluxDB: the names ingest writes and rollup and the API read.

- ``raw.telemetry``: one point per reading, written by ingest. Tags: gateway, device and,
  from the registry, profile, sector, province, commune, organisation, organisation_type.
  Fields: the quantities, ``quality`` and, for unregistered devices accepted by policy,
  ``unregistered``.
- ``raw.telemetry_bad``: the same for readings of quality "bad" (sent so by a device, or
  flagged implausible by ingest's policy): kept, but apart, so that every aggregate over
  ``telemetry`` is over usable readings without a filter on a string field (which would
  double the rollup's cost).
- ``raw.gateway_health``: a gateway's status and heartbeat numbers.
- ``raw.touched_hours``: for every hour (UTC, epoch-aligned) that received readings, the
  field ``written_at`` (ingest's clock, ms) of the last write. Written in the same request
  as the readings, so the rollup learns which hours to recompute, late data included,
  without scanning raw data.
- ``rollup.device_hourly`` and ``rollup.device_daily``: per-device aggregates.
- ``rollup.indicators``: indicator values per period and breakdown, kept for good.
- ``rollup.rollup_state``: the rollup's watermark over ``touched_hours.written_at``.
- ``raw.platform_use``: authenticated API and dashboard use: tag ``organisation``, field
  ``requests`` (integer).

Personal data lives apart: ``telemetry`` and ``telemetry_bad`` of household meters
(``organisation_type`` ``household_meter_point``) and their ``device_hourly`` and
``device_daily`` are in the database ``personal_database(db)``, with the same retention
policies, because InfluxDB 1.x grants per database: an account with no grant there (Grafana,
an analyst) cannot read a household's readings whatever it queries. So are the
``indicators`` of a household's meter (level ``device``) and of a gateway serving one (level
``gateway``): ``rollup.store`` decides which. Everything else, the indicators over many
households included, stays in ``db``.
"""

from __future__ import annotations

import logging

from iotgw.tsdb.client import InfluxClient, NotAuthorized

log = logging.getLogger(__name__)

RAW_RP = "raw"
ROLLUP_RP = "rollup"

TELEMETRY = "telemetry"
TELEMETRY_BAD = "telemetry_bad"
GATEWAY_HEALTH = "gateway_health"
TOUCHED_HOURS = "touched_hours"
PLATFORM_USE = "platform_use"
DEVICE_HOURLY = "device_hourly"
DEVICE_DAILY = "device_daily"
INDICATORS = "indicators"
ROLLUP_STATE = "rollup_state"

HOUR_MS = 3_600_000

# The organisation type whose devices' readings are personal data (registry's OrgType value).
HOUSEHOLD = "household_meter_point"


def personal_database(database: str) -> str:
    """Where the household meters' readings and aggregates of ``database`` live."""
    return f"{database}_personal"


def create_databases(influx: InfluxClient, database: str, *, raw_retention: str) -> None:
    """The database, its personal database and their two retention policies, idempotent.
    Needs an admin account (``iotgw provision influx``)."""
    for name in (database, personal_database(database)):
        influx.create_database(name)
        influx.create_retention_policy(name, RAW_RP, duration=raw_retention, default=True)
        influx.create_retention_policy(name, ROLLUP_RP, duration="INF")


def create_storage(influx: InfluxClient, database: str, *, raw_retention: str) -> None:
    """``create_databases`` at a service's start: ingest, the rollup and the API each call
    it, so that any of them may start first (a query on a missing retention policy is an
    error, not an empty answer). With a service's own account, which may not create
    databases, nothing: ``iotgw provision influx`` created them with the admin's."""
    try:
        create_databases(influx, database, raw_retention=raw_retention)
    except NotAuthorized as exc:
        log.info("this account does not create databases (%s): `iotgw provision influx` does",
                 exc)
