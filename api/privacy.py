"""The one privacy rule for household data, applied by every view that shows it.

A household's meter readings are personal data. Any number computed over households'
devices or households' organisations (a coverage cell, an indicator value at any level,
availability, completeness, last seen, a count by meter profile) counts the distinct
*households* it is computed over (organisations of type household meter point, however
many meters each has). A token that may not read the province's households
(``Principal.may_read_households``) sees such a number only when it counts at least
``suppress_below`` households; below that it is suppressed (value null, ``suppressed``
true), and a device or gateway below it is not listed at all, since its id alone points
at a household. A device's or gateway's value the rollup stored as personal data
(``StoredValue.personal``: over a household's meter at any time in its period) is a
household's too, wherever the registry puts the device at the period's end.

Differencing: a breakdown's total (the province's value) minus its shown cells would
give back a suppressed cell, so the rule also suppresses, smallest first, further cells
of the breakdown until the suppressed cells together count at least ``suppress_below``
households (complementary suppression; README, "Privacy of household data").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from iotgw.api.auth import Principal
from iotgw.registry import OrgType
from iotgw.rollup.catalogue import Indicator
from iotgw.rollup.indicators import PERSONAL_LEVELS
from iotgw.rollup.registry_view import DeviceView, OrganisationView, RegistryView

HOUSEHOLD = OrgType.HOUSEHOLD_METER_POINT.value
# Levels whose units are things rather than areas: a suppressed one is left out (and a
# household's unit is stored in the personal database, ``rollup.store``).
IDENTITY_LEVELS = frozenset(PERSONAL_LEVELS)

# Per unit of a breakdown, the households its number is computed over.
Households = Mapping[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class Rule:
    """What one token sees of one province's households; hashable, so a cached view's
    key can carry it (two tokens that see alike share the cached answer)."""

    sees_households: bool
    suppress_below: int

    @classmethod
    def of(cls, who: Principal, province: int, suppress_below: int) -> Rule:
        return cls(who.may_read_households(province), suppress_below)

    def hidden(self, cells: Households) -> set[str]:
        """The units of one breakdown whose numbers this token may not see."""
        if self.sees_households:
            return set()
        k = self.suppress_below
        hidden = {unit for unit, homes in cells.items() if 0 < len(homes) < k}
        # Complementary suppression: what the total less the shown cells reveals is the
        # hidden cells together, so they must together count k households.
        rest = sorted((len(homes), unit) for unit, homes in cells.items() if len(homes) >= k)
        while hidden and rest and len(frozenset().union(*(cells[u] for u in hidden))) < k:
            hidden.add(rest.pop(0)[1])
        return hidden


def with_stored_personal(cells: Households, personal: Iterable[str]) -> Households:
    """``cells`` with each unit whose value came from the personal database counting at
    least one household: the registry at the period's end may place a meter moved off its
    household mid-period under no household, yet its value has the household's readings
    (the rollup's ``personal_units``), and the rule must judge it as the rollup stored it.
    Its stand-in household is named after the unit, apart from every real one."""
    return {**{unit: frozenset({f"unit:{unit}"}) for unit in personal}, **cells}


def household_of(view: RegistryView) -> Callable[[DeviceView], str | None]:
    """A device's household (its organisation when that is a household meter point)."""
    homes = {o.id for o in view.organisations.values() if o.type == HOUSEHOLD}
    return lambda device: device.organisation if device.organisation in homes else None


def _unit(level: str, subject: DeviceView | OrganisationView, view: RegistryView) -> str:
    """The unit of a breakdown a device or organisation falls in, as ``rollup.indicators``
    files its values."""
    if level == "province":
        return str(subject.province)
    if level == "commune":
        return str(subject.ward)
    if level == "sector":
        return subject.sector
    if isinstance(subject, OrganisationView):
        return subject.type  # organisation_type: organisations have no gateway or device
    if level == "organisation_type":
        org = view.organisations.get(subject.organisation or "")
        return org.type if org else "none"
    return (subject.gateway or "none") if level == "gateway" else subject.id


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for unit, home in pairs:
        grouped[unit].add(home)
    return {unit: frozenset(homes) for unit, homes in grouped.items()}


def device_households(view: RegistryView, province: int, level: str,
                      counts: Callable[[DeviceView], bool] = lambda _d: True) -> dict[str, frozenset[str]]:
    """Per unit, the households owning the province's devices that ``counts``."""
    home = household_of(view)
    return _group((_unit(level, d, view), h) for d in view.devices.values()
                  if d.province == province and counts(d) and (h := home(d)) is not None)


def indicator_households(view: RegistryView, indicator: Indicator, province: int,
                         level: str) -> dict[str, frozenset[str]]:
    """Per unit of ``level``, the households the indicator's value is computed over."""
    formula = indicator.formula
    if formula.kind == "organisation_share":
        if OrgType.HOUSEHOLD_METER_POINT not in formula.organisation_types:
            return {}
        return _group((_unit(level, o, view), o.id) for o in view.organisations.values()
                      if o.province == province and o.type == HOUSEHOLD)
    if formula.kind in ("availability", "completeness"):
        return device_households(view, province, level)  # every installed device counts
    return device_households(view, province, level, lambda d: (
        (not formula.device_profiles or d.profile in formula.device_profiles)
        and (not formula.device_sectors or d.sector in formula.device_sectors)))
