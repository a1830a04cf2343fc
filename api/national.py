"""An indicator across every province for one period: what a ministry compares.

Two provinces' shares are comparable only when their denominators come from the same
source: one province may have imported the statistics office's reference counts while
another counts its registered organisations, and the same share then means different
things. The comparison says so rather than leave it to the reader.

Each province's value goes through the household privacy rule (``iotgw.api.privacy``)
with that province's rule for the token, as the per-province views do, and carries the
province's target and the progress to it as ``views.indicator_values`` computes them (a
province without a value has its target and path, no progress; a suppressed one none). The
provinces' values are read in one query, the baselines in one per baseline year.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable

from iotgw.api.privacy import Rule, indicator_households
from iotgw.api.schemas import NationalComparisonPublic, ProvinceValuePublic
from iotgw.api.views import area_targets, read_baselines, target_progress
from iotgw.registry import list_provinces
from iotgw.rollup import store
from iotgw.rollup.catalogue import Indicator
from iotgw.rollup.periods import Period, PeriodKind
from iotgw.rollup.registry_view import registry_view
from iotgw.tsdb import InfluxClient
from sqlalchemy.orm import Session


def area(name: str, code: int) -> str:
    return f"tỉnh/thành phố {name} (mã {code}), đơn vị hành chính từ 2025"


def _comparability(sources: dict[str, list[int]]) -> tuple[bool, str | None]:
    """Comparable when every province with a value has its denominator from one source."""
    if len(sources) <= 1:
        return True, None
    listed = "; ".join(f"{source} in {len(codes)} province(s) ({', '.join(map(str, sorted(codes)))})"
                       for source, codes in sorted(sources.items()))
    return False, f"denominators come from different sources: {listed}"


def compare(influx: InfluxClient, database: str, session: Session, indicator: Indicator, period: Period,
            rule_of: Callable[[int], Rule]) -> NationalComparisonPublic:
    """Every province's value of ``indicator`` for ``period`` with its target, suppressed
    where ``rule_of`` its province hides its households, and whether the values are comparable."""
    # The registry as each period saw it, loaded once and only when some province's rule needs it.
    view_of = functools.cache(functools.partial(registry_view, session))
    sources: dict[str, list[int]] = defaultdict(list)

    def every_province(kind: PeriodKind, start_ms: int, end_ms: int) -> dict[int, list[store.StoredValue]]:
        return store.read_values_by_province(influx, database, indicator.id, period=kind, level="province",
                                             start_ms=start_ms, end_ms=end_ms)
    stored = every_province(period.kind, period.start_ms, period.end_ms)
    targets = area_targets(indicator, "province")
    def hidden_in(year: Period) -> set[str]:
        return {str(p.code) for p in list_provinces(session) if str(p.code) in rule_of(p.code).hidden(
            indicator_households(view_of(year), indicator, p.code, "province"))}
    baselines = read_baselines(targets, lambda start_ms, end_ms: (
        v for values in every_province("year", start_ms, end_ms).values() for v in values), hidden_in)
    rows = []
    for province in list_provinces(session):
        code, rule = province.code, rule_of(province.code)
        value = next((v for v in stored.get(code, ()) if v.unit == str(code)), None)
        hidden = False
        if value is not None and not rule.sees_households:
            hidden = str(code) in rule.hidden(indicator_households(view_of(period), indicator, code,
                                                                   "province"))
        if value is not None and value.denominator_source:
            sources[value.denominator_source].append(code)
        shown = value if value is not None and not hidden else None
        rows.append(ProvinceValuePublic(
            province=code, name=province.name, area=area(province.name, code),
            period=period.label if value is not None else None,
            value=shown.value if shown else None, numerator=shown.numerator if shown else None,
            denominator=shown.denominator if shown else None,
            denominator_source=value.denominator_source if value else None,
            evidence=shown.evidence if shown else {}, suppressed=hidden,
            target=None if hidden else target_progress(targets, str(code), period, shown, baselines)))
    comparable, why = _comparability(sources)
    return NationalComparisonPublic(indicator=indicator.id, period=period.label, comparable=comparable,
                                    why=why, values=rows)
