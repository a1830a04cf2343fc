"""Indicator values for one period, from the registry as it then was and the period's
per-device activity. Pure: the definitions are in ``catalogue.toml``, and this follows them.

Every value is reported per province; a breakdown's unit (a commune, a sector, an
organisation type, a gateway, a device) carries its province too. A share whose
denominator is zero has no value and is not reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from iotgw.rollup.catalogue import Formula, Indicator
from iotgw.rollup.periods import Period
from iotgw.rollup.registry_view import DeviceView, OrganisationView, RegistryView

REFERENCE = "reference_counts"
REGISTERED = "registered"


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


@dataclass(frozen=True, slots=True)
class PeriodData:
    period: Period
    registry: RegistryView
    activity: dict[str, Activity]  # device -> its readings and intervals in the period
    platform_users: frozenset[str]  # organisations with recorded API/dashboard use
    until_ms: int  # the end of what is expected: the period's end, or now if earlier

    def active(self, device: DeviceView) -> bool:
        activity = self.activity.get(device.id)
        return activity is not None and activity.readings > 0


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


def _organisation_share(indicator: Indicator, data: PeriodData) -> Iterable[Value]:
    formula, view = indicator.formula, data.registry
    types = {t.value for t in formula.organisation_types}
    orgs = {o.id: o for o in view.organisations.values() if o.type in types}
    org_type = _device_org_type(view)
    using = {d.organisation for d in view.devices.values()
             if d.organisation in orgs and _matches(d, formula) and data.active(d)}
    if formula.platform_use:
        using |= data.platform_users & orgs.keys()
    for level in indicator.breakdowns:
        groups: dict[tuple[int, str], list[OrganisationView]] = defaultdict(list)
        for org in orgs.values():
            groups[org.province, _unit_of(level, org, org_type)].append(org)
        for (province, unit), members in sorted(groups.items()):
            numerator = sum(1 for o in members if o.id in using)
            denominator, source = _denominator(view, level, province, unit, types, len(members))
            if denominator:
                yield Value(indicator.id, data.period, level, unit, province,
                            100.0 * numerator / denominator, numerator, denominator, source)


def _denominator(view: RegistryView, level: str, province: int, unit: str, types: set[str],
                 registered: int) -> tuple[float, str]:
    """Reference counts where imported for every type counted, else registered ones."""
    if level == "province":
        keys = [("province", province, t) for t in sorted(types)]
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
                        100.0 * numerator / len(members), numerator, len(members), REGISTERED)
    if "commune" in indicator.breakdowns:
        for ward, province in sorted(wards.items()):
            numerator = 1 if ward in covered else 0
            yield Value(indicator.id, data.period, "commune", str(ward), province,
                        100.0 * numerator, numerator, 1, REGISTERED)


def _active_devices(indicator: Indicator, data: PeriodData) -> Iterable[Value]:
    view = data.registry
    org_type = _device_org_type(view)
    counts: dict[tuple[str, int, str], int] = defaultdict(int)
    for device in view.devices.values():
        if _matches(device, indicator.formula):  # inactive ones add their units' zeros
            for level in indicator.breakdowns:
                counts[level, device.province, _unit_of(level, device, org_type)] += data.active(device)
    for (level, province, unit), count in sorted(counts.items()):
        yield Value(indicator.id, data.period, level, unit, province, count, count)


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


_FORMULAS: dict[str, Callable[[Indicator, PeriodData], Iterable[Value]]] = {
    "organisation_share": _organisation_share,
    "ward_share": _ward_share,
    "active_devices": _active_devices,
    "availability": _reporting,
    "completeness": _reporting,
}


def compute(indicators: Iterable[Indicator], data: PeriodData) -> list[Value]:
    return [value for indicator in indicators
            for value in _FORMULAS[indicator.formula.kind](indicator, data)]
