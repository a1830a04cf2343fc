"""What the endpoints return, read from the rollup's series and the registry. No HTTP here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from iotgw.api.schemas import (
    CommuneCoveragePublic,
    CoveragePublic,
    GatewayPublic,
    IndicatorValuePublic,
    Resolution,
    Scalar,
    TargetProgress,
)
from iotgw.registry import OrgType, gateways_by_id, ward_names
from iotgw.rollup import store
from iotgw.rollup.catalogue import Indicator
from iotgw.rollup.period_data import load_period_data
from iotgw.rollup.periods import Period, PeriodKind
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.raw import read_last_health, read_readings
from sqlalchemy.orm import Session


def indicator_values(influx: InfluxClient, database: str, indicator: Indicator, *, province: int,
                     period: PeriodKind, level: str, first: dt.date, last: dt.date,
                     unit: str | None = None) -> list[IndicatorValuePublic]:
    """Values in time order with the province's target for the period's year (the nearest
    later target when the year has none), the gap to it and the change from the previous."""
    start, end = Period.containing(period, first), Period.containing(period, last)
    stored = store.read_values(influx, database, indicator.id, province=province, period=period,
                               level=level, start_ms=start.start_ms, end_ms=end.end_ms, unit=unit)
    targets = sorted((t for t in indicator.targets if t.province in (None, province)),
                     key=lambda t: t.year)
    out = []
    previous: dict[str, float] = {}  # unit -> its previous period's value
    for v in stored:
        target = next((t for t in targets if t.year >= int(v.label[:4])), None)
        out.append(IndicatorValuePublic(
            unit=v.unit, period=v.label, value=v.value, numerator=v.numerator,
            denominator=v.denominator, denominator_source=v.denominator_source,
            target=None if target is None else TargetProgress(
                value=target.value, comparator=target.comparator, year=target.year,
                met=target.met_by(v.value), gap=target.value - v.value),
            change=None if v.unit not in previous else v.value - previous[v.unit],
        ))
        previous[v.unit] = v.value
    return out


@dataclass
class _Commune:
    """A commune's coverage while it is being counted."""

    code: int
    name: str
    devices: int = 0
    active: int = 0
    by_sector: Counter[str] = field(default_factory=Counter)
    by_profile: Counter[str] = field(default_factory=Counter)
    last_seen: str | None = None
    got: float = 0.0  # intervals with data
    expected: float = 0.0  # intervals the installed devices should have filled
    households: int = 0


def coverage(influx: InfluxClient, database: str, session: Session, province: int,
             day: dt.date, now_ms: int, *, show_households: bool, suppress_below: int) -> CoveragePublic:
    """Per commune of the province, for a day: registered and active devices by sector and
    profile, availability, and when a device of it last reported. Households' meters are
    counted only where at least ``suppress_below`` are, unless ``show_households``."""
    data = load_period_data(influx, database, session, Period("day", day), now_ms)
    view = data.registry
    names = ward_names(session, province)
    last_seen = store.read_last_hours(influx, database, [d.id for d in view.devices.values()
                                                         if d.province == province])
    households = {o.id for o in view.organisations.values() if o.type == OrgType.HOUSEHOLD_METER_POINT}
    rows = {ward: _Commune(ward, names.get(ward, "")) for ward, p in view.wards.items() if p == province}
    for device in view.devices.values():
        row = rows.get(device.ward)
        if row is None:
            continue
        row.devices += 1
        row.households += device.organisation in households
        activity = data.activity.get(device.id)
        if data.active(device):
            row.active += 1
            row.by_sector[device.sector] += 1
            row.by_profile[device.profile] += 1
        installed_s = device.installed_ms_in(data.period.start_ms, data.until_ms) / 1000
        if installed_s > 0:
            row.got += activity.intervals if activity else 0.0
            row.expected += installed_s / min(device.interval_s, 3600)
        seen = last_seen.get(device.id)
        if seen and (row.last_seen is None or seen > row.last_seen):
            row.last_seen = seen
    communes = []
    suppressed = 0
    for row in sorted(rows.values(), key=lambda r: r.code):
        if not show_households and 0 < row.households < suppress_below:
            suppressed += 1
            meters = row.by_profile.pop("electricity_meter", 0)
            row.active -= meters
            row.devices -= row.households
            row.by_sector["energy"] -= meters
            row.by_sector = +row.by_sector
        communes.append(CommuneCoveragePublic(
            commune=row.code, name=row.name, devices=row.devices, active=row.active,
            active_by_sector=dict(row.by_sector), active_by_profile=dict(row.by_profile),
            availability=round(min(100.0, 100 * row.got / row.expected), 2) if row.expected else None,
            last_seen=row.last_seen))
    return CoveragePublic(province=province, date=day.isoformat(), communes=communes,
                          communes_without_active_device=sum(1 for c in communes if not c.active),
                          communes_with_households_suppressed=suppressed)


def readings(influx: InfluxClient, database: str, device: str, start_ms: int, end_ms: int,
             resolution: Resolution) -> list[dict[str, Scalar]]:
    """Raw points, or the rollup's hourly or daily aggregates (means, counters' increases)."""
    if resolution == "raw":
        return read_readings(influx, database, device, start_ms=start_ms, end_ms=end_ms)
    return store.read_device_aggregates(influx, database, device, resolution=resolution,
                                        start_ms=start_ms, end_ms=end_ms)


def gateways(influx: InfluxClient, database: str, session: Session,
             gateway_ids: list[str]) -> list[GatewayPublic]:
    """Registry's last-seen and the last heartbeat's numbers per gateway, flagged when the
    last heartbeat reported another client connected with the gateway's id."""
    health = read_last_health(influx, database)
    out = []
    for g in gateways_by_id(session, gateway_ids):
        numbers = health.get(g.id, {})
        conflicts = numbers.get("id_conflicts")
        out.append(GatewayPublic(
            gateway=g.id, last_seen=g.last_seen_at.isoformat() if g.last_seen_at else None,
            health=numbers, id_conflict=isinstance(conflicts, int | float) and conflicts > 0))
    return out
