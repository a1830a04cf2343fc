"""What the endpoints return, read from the rollup's series and the registry. No HTTP here."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from api.schemas import (
    CommuneCoveragePublic,
    CoveragePublic,
    GatewayPublic,
    IndicatorValuePublic,
    Resolution,
    Scalar,
    TargetProgress,
)
from registry import OrgType, gateways_by_id, ward_names
from rollup.catalogue import Indicator
from rollup.period_data import load_period_data
from rollup.periods import Period, PeriodKind
from tsdb import InfluxClient, quote_string
from tsdb.schema import DEVICE_DAILY, DEVICE_HOURLY, GATEWAY_HEALTH, INDICATORS, RAW_RP, ROLLUP_RP, TELEMETRY


def indicator_values(influx: InfluxClient, database: str, indicator: Indicator, *, province: int,
                     period: PeriodKind, level: str, first: dt.date, last: dt.date,
                     unit: str | None = None) -> list[IndicatorValuePublic]:
    """Values in time order with the province's target for the period's year (the nearest
    later target when the year has none), the gap to it and the change from the previous."""
    start, end = Period.containing(period, first), Period.containing(period, last)
    where = (f"\"indicator\" = {quote_string(indicator.id)} AND \"period\" = '{period}'"
             f" AND \"level\" = {quote_string(level)} AND \"province\" = '{province}'"
             f" AND time >= {start.start_ms}ms AND time < {end.end_ms}ms")
    if unit is not None:
        where += f" AND \"unit\" = {quote_string(unit)}"
    series = influx.query(database, f'SELECT * FROM "{ROLLUP_RP}"."{INDICATORS}" WHERE {where}'
                                    ' GROUP BY "unit"')
    targets = sorted((t for t in indicator.targets if t.province in (None, province)),
                     key=lambda t: t.year)
    out = []
    for s in series:
        previous = None
        for row in s.rows:
            year = int(row["label"][:4])
            target = next((t for t in targets if t.year >= year), None)
            out.append(IndicatorValuePublic(
                unit=s.tags["unit"], period=row["label"], value=row["value"],
                numerator=row["numerator"], denominator=row.get("denominator"),
                denominator_source=row.get("denominator_source"),
                target=None if target is None else TargetProgress(
                    value=target.value, comparator=target.comparator, year=target.year,
                    met=target.met_by(row["value"]), gap=target.value - row["value"]),
                change=None if previous is None else row["value"] - previous,
            ))
            previous = row["value"]
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
    last_seen = _last_seen(influx, database, [d.id for d in view.devices.values()
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


def _last_seen(influx: InfluxClient, database: str, devices: list[str]) -> dict[str, str]:
    if not devices:
        return {}
    series = influx.query(database, f'SELECT last("readings") FROM "{ROLLUP_RP}"."{DEVICE_HOURLY}"'
                                    ' GROUP BY "device"')
    wanted = set(devices)
    return {s.tags["device"]: dt.datetime.fromtimestamp(s.rows[0]["time"] / 1000, dt.UTC).isoformat()
            for s in series if s.tags.get("device") in wanted and s.rows}


def readings(influx: InfluxClient, database: str, device: str, start_ms: int, end_ms: int,
             resolution: Resolution) -> list[dict[str, Scalar]]:
    """Raw points, or the rollup's hourly or daily aggregates (means, counters' increases)."""
    source = {"raw": f'"{RAW_RP}"."{TELEMETRY}"', "hour": f'"{ROLLUP_RP}"."{DEVICE_HOURLY}"',
              "day": f'"{ROLLUP_RP}"."{DEVICE_DAILY}"'}[resolution]
    series = influx.query(database, (
        f"SELECT * FROM {source} WHERE \"device\" = {quote_string(device)}"
        f" AND time >= {start_ms}ms AND time < {end_ms}ms"))
    keep = (lambda k: True) if resolution == "raw" else (
        lambda k: k.endswith(("_mean", "_increase")) or k in ("readings", "intervals"))
    return [{k: v for k, v in row.items() if v is not None and (k == "time" or keep(k))
             and k not in ("device", "gateway")} for s in series for row in s.rows]


def gateways(influx: InfluxClient, database: str, session: Session,
             gateway_ids: list[str]) -> list[GatewayPublic]:
    """Registry's last-seen and the last heartbeat's numbers per gateway."""
    health: dict[str, dict[str, Scalar]] = {}
    for s in influx.query(database, f'SELECT last(*) FROM "{RAW_RP}"."{GATEWAY_HEALTH}" GROUP BY "gateway"'):
        health[s.tags["gateway"]] = {k.removeprefix("last_"): v for k, v in s.rows[0].items()
                                     if k != "time" and v is not None}
    return [GatewayPublic(gateway=g.id, last_seen=g.last_seen_at.isoformat() if g.last_seen_at else None,
                          health=health.get(g.id, {})) for g in gateways_by_id(session, gateway_ids)]
