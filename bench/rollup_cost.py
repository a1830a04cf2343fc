"""Time to roll up one province-day: 500, 1,000 and 5,000 devices at one reading a minute.

For each fleet size, a day of readings (80 % soil probes with three gauges, 10 % air
stations, 10 % electricity meters with a kWh counter) is written to its own database and
registered in a SQLite registry, then ``RollupService.backfill`` runs over that day:
hourly and daily per-device aggregates, and every catalogue indicator for the day, month,
half-year and year containing it. Printed next to it, as the baseline of the same run: a
bare ``count()`` over the day's raw points (what reading the day once costs influxd).

Usage: python bench/rollup_cost.py [--sizes 500,1000,5000]
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from harness import Bench, bench, options  # a sibling script: bench/ is on sys.path
from iotgw.api.auth import create_token
from iotgw.devices.links import RegistryLink
from iotgw.registry import (
    ApiRole,
    Device,
    Gateway,
    Organisation,
    OrgType,
    Placement,
    Sector,
    SubjectKind,
    Ward,
    make_engine,
    seed_admin_units,
    session_factory,
    upgrade,
)
from iotgw.rollup.config import RollupConfig
from iotgw.rollup.periods import local_midnight_ms
from iotgw.rollup.service import RollupService
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.config import InfluxConfig
from iotgw.tsdb.schema import HOUR_MS, RAW_RP
from sqlalchemy import insert, select

DAY = dt.date(2026, 3, 10)
PLACED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PROFILES = (["soil_probe"] * 8) + ["air_quality", "electricity_meter"]


def _fields(profile: str, minute: int, n: int) -> str:
    if profile == "soil_probe":
        return f"soil_moisture={30 + n % 7 + minute % 5},soil_temperature=27.5,soil_ec=850.0"
    if profile == "air_quality":
        return f"pm2_5={12 + minute % 9}.0,air_temperature=31.0,relative_humidity=70.0"
    return f"active_energy={1000 + n + minute * 0.02:.2f},voltage=229.0,current=1.5"


@dataclass(frozen=True, slots=True)
class Placed:
    """A bench device as registered: from ``PLACED`` on, in the ``spot``-th ward of the
    province (modulo their number), of its organisation, on its gateway if it has one. An
    organisation or a gateway is registered, and placed, where its first device is."""

    id: str
    profile: str
    sector: Sector  # the device's and its organisation's
    interval_s: int
    organisation: str
    org_type: OrgType
    spot: int
    gateway: str | None = None


def register(url: str, fleet: Iterable[Placed], province: int = 75) -> None:
    """A new registry at ``url`` holding ``fleet`` (bulk inserts: the ORM one row at a time
    would take minutes at the province bench's 105,000 devices)."""
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        seed_admin_units(session)
        wards = list(session.scalars(select(Ward.code).where(Ward.province_code == province,
                                                             Ward.retired_on.is_(None))))
        gateways: dict[str, dict] = {}
        orgs: dict[str, dict] = {}
        devices, places = [], []
        for d in fleet:
            ward = wards[d.spot % len(wards)]
            place = {"ward_code": ward, "valid_from": PLACED, "valid_to": None, "gateway_id": None,
                     "organisation_id": None}
            if d.gateway and d.gateway not in gateways:
                gateways[d.gateway] = {"id": d.gateway, "installed_on": PLACED.date()}
                places.append({**place, "subject_kind": SubjectKind.GATEWAY, "subject_id": d.gateway})
            if d.organisation not in orgs:
                orgs[d.organisation] = {"id": d.organisation, "name": d.organisation, "open_data": None,
                                        "type": d.org_type, "sector": d.sector}
                places.append({**place, "subject_kind": SubjectKind.ORGANISATION,
                               "subject_id": d.organisation})
            devices.append({"id": d.id, "profile": d.profile, "sector": d.sector,
                            "expected_interval_s": d.interval_s, "installed_on": PLACED.date()})
            places.append({**place, "subject_kind": SubjectKind.DEVICE, "subject_id": d.id,
                           "gateway_id": d.gateway, "organisation_id": d.organisation})
        for model, rows in ((Gateway, list(gateways.values())), (Organisation, list(orgs.values())),
                            (Device, devices), (Placement, places)):
            if rows:
                session.execute(insert(model), rows)


def farms(devices: int) -> Iterator[Placed]:
    """This bench's fleet: ``devices`` at one reading a minute, two to a farm, spread over
    the wards (the profiles of ``PROFILES``, all counted in agriculture)."""
    for n in range(devices):
        yield Placed(f"d{n}", PROFILES[n % 10], Sector.AGRICULTURE, 60, f"farm-{n // 2}", OrgType.FARM, n)


def write_day(influx: InfluxClient, database: str, devices: int) -> int:
    influx.create_database(database)
    influx.create_retention_policy(database, RAW_RP, duration="INF", default=True)
    start = local_midnight_ms(DAY)
    lines: list[str] = []
    written = 0
    for minute in range(24 * 60):
        ts = start + minute * 60_000
        lines += [f'telemetry,device=d{n},gateway=g{n // 50} {_fields(PROFILES[n % 10], minute, n)},'
                  f'quality="good" {ts}' for n in range(devices)]
        if len(lines) >= 50_000 or minute == 24 * 60 - 1:
            influx.write_lines(database, "\n".join(lines))
            written += len(lines)
            lines = []
    return written


def rolled_up_day(running: Bench, devices: int) -> tuple[str, str, InfluxConfig]:
    """A registry of ``devices`` in ``running``'s folder, their day in its influxd (database
    ``bench``) rolled up, and a ministry token: what the API benches serve. Returns the
    registry's URL, the token and the InfluxDB settings."""
    url = f"sqlite:///{running.work / 'registry.sqlite'}"
    register(url, farms(devices))
    with session_factory(make_engine(url))() as session, session.begin():
        token = create_token(session, "bench", ApiRole.MINISTRY)
    write_day(InfluxClient(running.influxd.url, timeout_s=300), "bench", devices)
    influx = InfluxConfig(url=running.influxd.url, database="bench", timeout_s=300)
    rollup = RollupService(RollupConfig(influx=influx, registry=RegistryLink(url=url)))
    rollup.prepare()
    rollup.backfill(DAY, DAY)
    return url, token, influx


def main() -> None:
    args = options(__doc__, sizes="500,1000,5000")
    with bench("rollup-bench", influxd=True) as running:
        work, influxd = running.work, running.influxd
        influx = InfluxClient(influxd.url, timeout_s=300)
        print(f"{'devices':>8} {'readings':>11} {'rollup s':>9} {'/ 500 dev':>10} "
              f"{'count() s':>10} {'/ count()':>10}")
        first = None
        for size in (int(s) for s in args.sizes.split(",")):
            database, url = f"bench{size}", f"sqlite:///{work / f'registry{size}.sqlite'}"
            register(url, farms(size))
            readings = write_day(influx, database, size)
            start_ms = local_midnight_ms(DAY)
            t = time.perf_counter()
            influx.query(database, f'SELECT count("quality") FROM "{RAW_RP}"."telemetry"'
                                   f" WHERE time >= {start_ms}ms AND time < {start_ms + 24 * HOUR_MS}ms")
            baseline = time.perf_counter() - t
            service = RollupService(RollupConfig(
                influx=InfluxConfig(url=influxd.url, database=database, timeout_s=300),
                registry=RegistryLink(url=url)))
            service.prepare()
            t = time.perf_counter()
            summary = service.backfill(DAY, DAY)
            elapsed = time.perf_counter() - t
            first = first or elapsed
            print(f"{size:>8,} {readings:>11,} {elapsed:>9.2f} {elapsed / first:>10.2f} "
                  f"{baseline:>10.2f} {elapsed / baseline:>10.1f}   ({summary.values:,} values)")


if __name__ == "__main__":
    main()
