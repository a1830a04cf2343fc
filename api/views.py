"""What the endpoints return, read from the rollup's series and the registry. No HTTP here."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from iotgw.api.privacy import (
    IDENTITY_LEVELS,
    Rule,
    device_households,
    household_of,
    indicator_households,
    with_stored_personal,
)
from iotgw.api.schemas import (
    AreaPublic,
    CommuneCoveragePublic,
    CoveragePublic,
    GatewayPublic,
    IndicatorValuePublic,
    Resolution,
    Scalar,
    TargetProgress,
)
from iotgw.registry import (
    former_province_name,
    gateways_by_id,
    get_province,
    ward_names,
    wards_of_former_province,
)
from iotgw.rollup import store
from iotgw.rollup.catalogue import Indicator, Target
from iotgw.rollup.period_data import load_period_data
from iotgw.rollup.periods import VIETNAM, Period, PeriodKind
from iotgw.rollup.registry_view import registry_view
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.raw import read_last_health, read_readings
from sqlalchemy.orm import Session


def _periods(kind: PeriodKind, first: dt.date, last: dt.date) -> dict[str, Period]:
    """The periods of a kind from the one holding ``first`` to the one holding ``last``."""
    period, end = Period.containing(kind, first), Period.containing(kind, last)
    out = {}
    while period.start <= end.start:
        out[period.label] = period
        period = Period(kind, period.end)
    return out


def areas(session: Session, indicator: Indicator, province: int, level: str) -> list[AreaPublic]:
    """What the values of ``level`` are computed over: the plan areas of the province at
    ``plan_area``, else today's province."""
    if level != "plan_area":
        return [AreaPublic(level="province", unit=str(province), province=province,
                           name=get_province(session, province).name)]
    today = get_province(session, province).name
    return [AreaPublic(level="plan_area", unit=plan, province=p, plan=plan, former_province=former,
                       name=f"{former_province_name(former)} (before 2025), in {today}",
                       wards=len(wards_of_former_province(former, province=p)))
            for plan, p, former in indicator.plan_areas() if p == province]


def _on_path(target: Target, baseline: float | None, period: Period) -> float | None:
    """The straight path from the baseline (end of its year) to the target (end of its year),
    at the end of ``period``."""
    if baseline is None:
        return None
    start, end = target.baseline_year + 1, target.year + 1
    end_of_period = period.end.year + (period.end.timetuple().tm_yday - 1) / 365.25
    share = min(1.0, max(0.0, (end_of_period - start) / (end - start)))
    return baseline + (target.value - baseline) * share


def _progress(target: Target, v: store.StoredValue | None, period: Period,
              baselines: dict[tuple[str, int], float]) -> TargetProgress:
    """Where ``v`` stands (None: an area without a value has its target and path, no progress)."""
    kinds = target.evidence or sorted(v.evidence if v else ())
    measured: float | None = v.value if v else None
    if target.evidence and v is not None:
        parts = [v.evidence.get(k) for k in kinds]
        measured = (None if not v.denominator or any(p is None for p in parts)
                    else 100.0 * sum(p for p in parts if p is not None) / v.denominator)
    baseline = baselines.get((target.unit, target.baseline_year))
    expected = _on_path(target, baseline, period)
    in_year = period.start.year == target.year
    return TargetProgress(
        value=target.value, comparator=target.comparator, year=target.year, plan=target.plan,
        line=target.line, evidence=kinds, measured=measured,
        met=target.met_by(measured) if in_year and measured is not None else None,
        gap=None if measured is None else target.value - measured,
        baseline_year=target.baseline_year, baseline=baseline, expected_on_path=expected,
        on_path=None if expected is None or measured is None else (
            measured >= expected if target.comparator in (">=", ">") else measured <= expected))


def area_targets(indicator: Indicator, level: str, province: int | None = None) -> list[Target]:
    """The targets of the areas of ``level`` (of one province, or of every one), by year:
    what ``target_progress`` picks from."""
    return sorted((t for t in indicator.targets
                   if t.level == level and (province is None or t.province == province)),
                  key=lambda t: t.year)


def read_baselines(targets: Iterable[Target], read: Callable[[int, int], Iterable[store.StoredValue]],
                   hidden_in: Callable[[Period], set[str]]) -> dict[tuple[str, int], float]:
    """Each area's value in its targets' baseline years, by (unit, year): ``read`` gives the
    values of the year periods starting in [start_ms, end_ms). A baseline the privacy rule
    hides in its year (``hidden_in``: the units hidden then) is left out, with the path it
    would draw: a target's ``baseline`` would otherwise show a suppressed value."""
    baselines: dict[tuple[str, int], float] = {}
    for year in sorted({t.baseline_year for t in targets}):
        period = Period("year", dt.date(year, 1, 1))
        values = list(read(period.start_ms, period.start_ms + 1))
        hidden = hidden_in(period) if values else set()
        baselines.update({(b.unit, year): b.value for b in values if b.unit not in hidden})
    return baselines


def target_progress(targets: list[Target], unit: str, period: Period, v: store.StoredValue | None,
                    baselines: dict[tuple[str, int], float]) -> TargetProgress | None:
    """The progress of ``unit``'s value ``v`` (None: it has none) to its target for the
    period's year, or the nearest later one (``targets`` by year, as ``area_targets`` gives
    them); None when it has no target."""
    target = next((t for t in targets if t.unit == unit and t.year >= int(period.label[:4])), None)
    return None if target is None else _progress(target, v, period, baselines)


def indicator_values(influx: InfluxClient, database: str, session: Session, indicator: Indicator, *,
                     province: int, period: PeriodKind, level: str, first: dt.date, last: dt.date,
                     rule: Rule, unit: str | None = None) -> list[IndicatorValuePublic]:
    """Values in time order with the target of the value's area (the province at level
    province, a plan's area at plan_area; other levels have none) for the period's year, or
    the nearest later one, the progress to it and the change from the previous.
    Values over too few households for ``rule`` are suppressed (a device's or gateway's
    left out), judged on the whole breakdown even when one ``unit`` is asked for; a value
    read from the personal database counts as over a household (``with_stored_personal``)."""
    periods = _periods(period, first, last)
    start, end = periods[min(periods)], periods[max(periods)]
    stored = store.read_values(influx, database, indicator.id, province=province, period=period,
                               level=level, start_ms=start.start_ms, end_ms=end.end_ms, unit=unit)
    hidden: dict[str, set[str]] = {}
    # Where the households then were, once per period: a year's values and its baseline ask alike.
    view_of = functools.cache(functools.partial(registry_view, session))
    if not rule.sees_households:
        breakdown = stored if unit is None or level not in IDENTITY_LEVELS else store.read_values(
            influx, database, indicator.id, province=province, period=period, level=level,
            start_ms=start.start_ms, end_ms=end.end_ms)
        for label in sorted({v.label for v in stored}):
            households = indicator_households(view_of(periods[label]), indicator, province, level)
            personal = {v.unit for v in breakdown if v.label == label and v.personal}
            hidden[label] = rule.hidden(with_stored_personal(households, personal))
    targets = area_targets(indicator, level, province)
    baselines = read_baselines(targets, lambda start_ms, end_ms: store.read_values(
        influx, database, indicator.id, province=province, period="year", level=level,
        start_ms=start_ms, end_ms=end_ms, unit=unit), lambda year: set() if rule.sees_households else
        rule.hidden(indicator_households(view_of(year), indicator, province, level)))
    out = []
    previous: dict[str, float] = {}  # unit -> its previous period's value, when shown
    for v in stored:
        if v.unit in hidden.get(v.label, ()):
            previous.pop(v.unit, None)  # a change from it would give it away
            if level not in IDENTITY_LEVELS:
                out.append(IndicatorValuePublic(
                    unit=v.unit, period=v.label, value=None, numerator=None, denominator=None,
                    denominator_source=None, target=None, change=None, suppressed=True))
            continue
        out.append(IndicatorValuePublic(
            unit=v.unit, period=v.label, value=v.value, numerator=v.numerator,
            denominator=v.denominator, denominator_source=v.denominator_source,
            target=target_progress(targets, v.unit, periods[v.label], v, baselines),
            change=None if v.unit not in previous else v.value - previous[v.unit],
            evidence=v.evidence,
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


# How far back coverage looks for a commune's last reading: a bounded read.
LAST_SEEN_DAYS = 31


def coverage(influx: InfluxClient, database: str, session: Session, province: int,
             day: dt.date, now_ms: int, *, rule: Rule) -> CoveragePublic:
    """Per commune of the province, for a day: registered and active devices by sector and
    profile, availability, and when a device of it last reported (by the day's end, within
    ``LAST_SEEN_DAYS``). In a commune whose households ``rule`` suppresses, every number
    leaves the households' devices out and the household count is null."""
    data = load_period_data(influx, database, session, Period("day", day), now_ms)
    view = data.registry
    names = ward_names(session, province)
    end_ms = data.period.end_ms
    last_seen = store.read_last_hours(
        influx, database, [d.id for d in view.devices.values() if d.province == province],
        start_ms=end_ms - LAST_SEEN_DAYS * 86_400_000, end_ms=end_ms)
    home = household_of(view)
    households = device_households(view, province, "commune")
    hidden = rule.hidden(households)
    rows = {ward: _Commune(ward, names.get(ward, "")) for ward, p in view.wards.items() if p == province}
    for device in view.devices.values():
        row = rows.get(device.ward)
        if row is None or (str(device.ward) in hidden and home(device) is not None):
            continue
        row.devices += 1
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
    for row in sorted(rows.values(), key=lambda r: r.code):
        suppressed = str(row.code) in hidden
        communes.append(CommuneCoveragePublic(
            commune=row.code, name=row.name, devices=row.devices, active=row.active,
            active_by_sector=dict(row.by_sector), active_by_profile=dict(row.by_profile),
            availability=round(min(100.0, 100 * row.got / row.expected), 2) if row.expected else None,
            last_seen=row.last_seen, suppressed=suppressed,
            households=None if suppressed else len(households.get(str(row.code), ()))))
    return CoveragePublic(province=province, date=day.isoformat(), communes=communes,
                          communes_without_active_device=sum(1 for c in communes if not c.active),
                          communes_with_households_suppressed=sum(1 for c in communes if c.suppressed))


def readings(influx: InfluxClient, database: str, device: str, start_ms: int, end_ms: int,
             resolution: Resolution) -> list[dict[str, Scalar]]:
    """Raw points, or the rollup's hourly or daily aggregates (means, counters' increases)."""
    if resolution == "raw":
        return read_readings(influx, database, device, start_ms=start_ms, end_ms=end_ms)
    return store.read_device_aggregates(influx, database, device, resolution=resolution,
                                        start_ms=start_ms, end_ms=end_ms)


def gateways(influx: InfluxClient, database: str, session: Session, province: int,
             gateway_ids: list[str], *, health_window_days: int, rule: Rule) -> list[GatewayPublic]:
    """Registry's last-seen and the last heartbeat's numbers (of the last
    ``health_window_days``) per gateway, flagged when the last heartbeat reported another
    client connected with the gateway's id. A gateway that serves households only, fewer
    than the rule shows, is left out: its id and heartbeat point at them (a farm's gateway
    that also reads a household's meter says nothing of the household by being listed)."""
    view = registry_view(session, Period("day", dt.datetime.now(VIETNAM).date()))
    home = household_of(view)
    shared = {d.gateway for d in view.devices.values() if home(d) is None}
    hidden = rule.hidden({gateway: homes for gateway, homes in device_households(
        view, province, "gateway").items() if gateway not in shared})
    registered = [g for g in gateways_by_id(session, gateway_ids) if g.id not in hidden]
    health = read_last_health(influx, database, [g.id for g in registered], within_days=health_window_days)
    out = []
    for g in registered:
        numbers = health.get(g.id, {})
        conflicts = numbers.get("id_conflicts")
        out.append(GatewayPublic(
            gateway=g.id, last_seen=g.last_seen_at.isoformat() if g.last_seen_at else None,
            health=numbers, id_conflict=isinstance(conflicts, int | float) and conflicts > 0))
    return out
