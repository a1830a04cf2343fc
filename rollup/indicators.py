"""Indicator values for one period, from the registry as it then was and the period's
per-device activity. Pure: the definitions are in ``catalogue.toml``, and this follows them.

Every value is reported per province; a breakdown's unit (a commune, a sector, an
organisation type, a gateway, a device, a plan's area) carries its province too. A share
whose denominator is zero has no value and is not reported. Every value carries its
evidence mix (definitions.evidence): how much of the numerator each kind of evidence made.

A value at a level whose units are things (``PERSONAL_LEVELS``: a device, a gateway) that
is computed over a household's meter is personal data, like the meter's readings:
``personal_units`` names those units, and the rollup stores their values apart
(``rollup.store``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from iotgw.registry import Aggregate, OrgType, wards_of_former_province
from iotgw.rollup.catalogue import Formula, Indicator
from iotgw.rollup.periods import Period
from iotgw.rollup.registry_view import DeviceView, OrganisationView, RegistryView

REFERENCE = "reference_counts"
REGISTERED = "registered"
AGGREGATE = "aggregate_counts"
# An organisation with several kinds of evidence is counted by the first of these it has.
EVIDENCE_ORDER = ("declaration", "telemetry", "platform_use")
# Levels whose units are things, not areas: such a unit's value over a household's meter
# is that household's (a gateway's: its other devices' values are shown beside it, so the
# difference would give the household's back however many farms it also serves).
PERSONAL_LEVELS = ("device", "gateway")


@dataclass(frozen=True, slots=True)
class Activity:
    readings: float = 0.0
    intervals: float = 0.0


@dataclass(frozen=True, slots=True)
class Value:
    indicator: str
    period: Period
    level: str  # the breakdown: province, commune, sector, organisation_type, gateway, device
    unit: str  # the breakdown's code or name (the province code for level "province")
    province: int
    value: float
    numerator: float
    denominator: float | None = None
    denominator_source: str | None = None
    evidence: Mapping[str, float] = field(default_factory=dict)  # kind -> part of the numerator


@dataclass(frozen=True, slots=True)
class PeriodData:
    period: Period
    registry: RegistryView
    activity: dict[str, Activity]  # device -> its readings and intervals in the period
    platform_users: frozenset[str]  # organisations with recorded API/dashboard use
    until_ms: int  # the end of what is expected: the period's end, or now if earlier
    # subject -> organisations whose declaration on it holds in the period (registry.declared)
    declared: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # (measure, level, unit code) -> the N of M of the period's year (registry.aggregates)
    aggregates: Mapping[tuple[str, str, int], Aggregate] = field(default_factory=dict)

    def active(self, device: DeviceView) -> bool:
        activity = self.activity.get(device.id)
        return activity is not None and activity.readings > 0


def personal_units(view: RegistryView, with_personal_data: Collection[str]) -> dict[str, frozenset[str]]:
    """Per level of ``PERSONAL_LEVELS``, the units whose values are personal data: the
    devices placed under a household as the period counts them, and those with readings in
    the personal database in it (``with_personal_data``: a meter moved away from a household
    during the period still has the household's readings in its value); the gateways (or
    "none") such a device is counted under."""
    homes = {o.id for o in view.organisations.values() if o.type == OrgType.HOUSEHOLD_METER_POINT.value}
    devices = {d.id for d in view.devices.values() if d.organisation in homes} | set(with_personal_data)
    gateways = {view.devices[d].gateway or "none" for d in devices if d in view.devices}
    return {"device": frozenset(devices), "gateway": frozenset(gateways)}


def _matches(device: DeviceView, formula: Formula) -> bool:
    return ((not formula.device_profiles or device.profile in formula.device_profiles)
            and (not formula.device_sectors or device.sector in formula.device_sectors))


def _unit_of(level: str, subject: DeviceView | OrganisationView,
             org_type: Callable[[DeviceView], str]) -> str:
    if level == "province":
        return str(subject.province)
    if level == "commune":
        return str(subject.ward)
    if level == "organisation_type":
        return subject.type if isinstance(subject, OrganisationView) else org_type(subject)
    if level in ("gateway", "device"):
        assert isinstance(subject, DeviceView)
        return (subject.gateway or "none") if level == "gateway" else subject.id
    return subject.sector


PlanArea = tuple[str, int, frozenset[int]]  # plan id, today's province, its wards


def _plan_areas(indicator: Indicator) -> list[PlanArea]:
    return [(plan, province, wards_of_former_province(former, province=province))
            for plan, province, former in indicator.plan_areas()]


def _units(level: str, subject: OrganisationView, org_type: Callable[[DeviceView], str],
           areas: list[PlanArea]) -> list[tuple[int, str]]:
    """The (province, unit) groups a subject is counted in at ``level``: one, or for
    ``plan_area`` those of the plan areas its ward is in (none, one, or more)."""
    if level == "plan_area":
        return [(province, plan) for plan, province, wards in areas
                if subject.province == province and subject.ward in wards]
    return [(subject.province, _unit_of(level, subject, org_type))]


def _evidence_of(formula: Formula, data: PeriodData, orgs: Mapping[str, OrganisationView]) -> dict[str, str]:
    """Organisation -> the kind of evidence it is counted by (the first in EVIDENCE_ORDER)."""
    holds: dict[str, set[str]] = {
        "declaration": set(data.declared.get(formula.declares or "", ())) & orgs.keys(),
        "telemetry": {d.organisation for d in data.registry.devices.values()
                      if d.organisation in orgs and _matches(d, formula) and data.active(d)},
        "platform_use": set(data.platform_users & orgs.keys()),
    }
    counted: dict[str, str] = {}
    for kind in EVIDENCE_ORDER:
        if kind in formula.evidence:
            for org in holds[kind]:
                counted.setdefault(org, kind)
    return counted


def _organisation_share(indicator: Indicator, data: PeriodData) -> Iterable[Value]:
    formula, view = indicator.formula, data.registry
    types = {t.value for t in formula.organisation_types}
    orgs = {o.id: o for o in view.organisations.values() if o.type in types}
    org_type = _device_org_type(view)
    counted = _evidence_of(formula, data, orgs)
    areas = _plan_areas(indicator)
    for level in indicator.breakdowns:
        groups: dict[tuple[int, str], list[OrganisationView]] = defaultdict(list)
        for org in orgs.values():
            for key in _units(level, org, org_type, areas):
                groups[key].append(org)
        for (province, unit), members in sorted(groups.items()):
            mix = Counter(counted[o.id] for o in members if o.id in counted)
            numerator = sum(mix.values())
            area = next((wards for plan, _, wards in areas if plan == unit), frozenset())
            denominator, source = _denominator(view, level, province, unit, types, len(members), area)
            if denominator:
                yield Value(indicator.id, data.period, level, unit, province,
                            100.0 * numerator / denominator, numerator, denominator, source,
                            {kind: float(mix[kind]) for kind in formula.evidence})


def _denominator(view: RegistryView, level: str, province: int, unit: str, types: set[str],
                 registered: int, area: frozenset[int]) -> tuple[float, str]:
    """Reference counts where imported for every type counted (for a plan area: for every
    ward of it), else registered ones."""
    if level == "province":
        keys = [("province", province, t) for t in sorted(types)]
    elif level == "plan_area":
        keys = [("ward", ward, t) for ward in sorted(area) for t in sorted(types)]
    elif level == "commune":
        keys = [("ward", int(unit), t) for t in sorted(types)]
    elif level == "organisation_type":
        keys = [("province", province, unit)]
    else:
        keys = []
    if keys and all(k in view.reference for k in keys):
        return float(sum(view.reference[k] for k in keys)), REFERENCE
    return float(registered), REGISTERED


def _ward_share(indicator: Indicator, data: PeriodData) -> Iterable[Value]:
    formula, view = indicator.formula, data.registry
    wards = {w: p for w, p in view.wards.items() if not formula.wards or w in formula.wards}
    covered = {d.ward for d in view.devices.values() if _matches(d, formula) and data.active(d)}
    if "province" in indicator.breakdowns:
        by_province: dict[int, list[int]] = defaultdict(list)
        for ward, province in wards.items():
            by_province[province].append(ward)
        for province, members in sorted(by_province.items()):
            numerator = sum(1 for w in members if w in covered)
            yield Value(indicator.id, data.period, "province", str(province), province,
                        100.0 * numerator / len(members), numerator, len(members), REGISTERED,
                        {"telemetry": float(numerator)})
    if "commune" in indicator.breakdowns:
        for ward, province in sorted(wards.items()):
            numerator = 1 if ward in covered else 0
            yield Value(indicator.id, data.period, "commune", str(ward), province,
                        100.0 * numerator, numerator, 1, REGISTERED, {"telemetry": float(numerator)})


def _active_devices(indicator: Indicator, data: PeriodData) -> Iterable[Value]:
    view = data.registry
    org_type = _device_org_type(view)
    counts: dict[tuple[str, int, str], int] = defaultdict(int)
    for device in view.devices.values():
        if _matches(device, indicator.formula):  # inactive ones add their units' zeros
            for level in indicator.breakdowns:
                counts[level, device.province, _unit_of(level, device, org_type)] += data.active(device)
    for (level, province, unit), count in sorted(counts.items()):
        yield Value(indicator.id, data.period, level, unit, province, count, count,
                    evidence={"telemetry": float(count)})


def _device_org_type(view: RegistryView) -> Callable[[DeviceView], str]:
    def org_type(device: DeviceView) -> str:
        org = view.organisations.get(device.organisation or "")
        return org.type if org else "none"
    return org_type


def _reporting(indicator: Indicator, data: PeriodData) -> Iterable[Value]:
    """Availability or completeness: sums over the unit's devices, so a device weighs by
    what was expected of it."""
    view, period = data.registry, data.period
    org_type = _device_org_type(view)
    got: dict[tuple[str, int, str], float] = defaultdict(float)
    expected: dict[tuple[str, int, str], float] = defaultdict(float)
    for device in view.devices.values():
        installed_s = device.installed_ms_in(period.start_ms, data.until_ms) / 1000
        if installed_s <= 0:
            continue
        activity = data.activity.get(device.id, Activity())
        if indicator.formula.kind == "availability":
            have, want = activity.intervals, installed_s / min(device.interval_s, 3600)
        else:
            have, want = activity.readings, installed_s / device.interval_s
        for level in indicator.breakdowns:
            key = (level, device.province, _unit_of(level, device, org_type))
            got[key] += have
            expected[key] += want
    for (level, province, unit), want in sorted(expected.items()):
        have = got[level, province, unit]
        yield Value(indicator.id, period, level, unit, province,
                    min(100.0, 100.0 * have / want), have, want, REGISTERED)


def _aggregate_share(indicator: Indicator, data: PeriodData) -> Iterable[Value]:
    """N of M as imported: a province's row, a ward's row, a plan area's former province's
    row (else the sum of its wards' rows when every ward has one)."""
    measure = indicator.formula.measure or ""
    rows = {(level, code): a for (m, level, code), a in data.aggregates.items() if m == measure}
    found: list[tuple[str, str, int, Aggregate]] = []
    for level in indicator.breakdowns:
        if level == "province":
            found += [(level, str(code), code, a) for (lvl, code), a in rows.items() if lvl == "province"]
        elif level == "commune":
            found += [(level, str(code), data.registry.wards[code], a) for (lvl, code), a in rows.items()
                      if lvl == "ward" and code in data.registry.wards]
        elif level == "plan_area":
            for (plan, province, former), (_, _, wards) in zip(
                    indicator.plan_areas(), _plan_areas(indicator), strict=True):
                parts = [rows.get(("ward", w)) for w in sorted(wards)]
                whole = rows.get(("former_province", former))
                if whole is None and parts and all(parts):
                    whole = Aggregate(sum(p.numerator for p in parts if p),
                                      sum(p.denominator for p in parts if p), "sum of wards")
                if whole is not None:
                    found.append((level, plan, province, whole))
    for level, unit, province, a in sorted(found, key=lambda f: f[:3]):
        yield Value(indicator.id, data.period, level, unit, province, 100.0 * a.numerator / a.denominator,
                    a.numerator, a.denominator, AGGREGATE, {"aggregate": float(a.numerator)})


_FORMULAS: dict[str, Callable[[Indicator, PeriodData], Iterable[Value]]] = {
    "organisation_share": _organisation_share,
    "ward_share": _ward_share,
    "active_devices": _active_devices,
    "availability": _reporting,
    "completeness": _reporting,
    "aggregate_share": _aggregate_share,
}


def compute(indicators: Iterable[Indicator], data: PeriodData) -> Iterator[Value]:
    """The values as each indicator's formula yields them: a caller writes them as they come
    (``store.write_values``), a province's period has too many to hold."""
    for indicator in indicators:
        yield from _FORMULAS[indicator.formula.kind](indicator, data)
