"""A target's baseline is a value of its own year: the privacy rule of that year applies."""

from __future__ import annotations

from iotgw.api.views import read_baselines
from iotgw.rollup.catalogue import load_catalogue
from iotgw.rollup.periods import Period
from iotgw.rollup.store import StoredValue


def test_a_baseline_hidden_in_its_year_is_left_out() -> None:
    targets = [t for ind in load_catalogue().indicators for t in ind.targets][:1]
    [year] = {t.baseline_year for t in targets}
    values = [StoredValue("x", unit, str(year), 40.0, 4, 10, "registered", {}) for unit in ("75", "82")]
    asked: list[Period] = []

    def hidden_in(period: Period) -> set[str]:
        asked.append(period)
        return {"82"}

    baselines = read_baselines(targets, lambda _start, _end: values, hidden_in)
    assert baselines == {("75", year): 40.0}
    assert [p.label for p in asked] == [str(year)]
