"""The catalogue: every figure traced to a plan line that says what the catalogue quotes."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest
from iotgw.devices import ConfigError
from iotgw.rollup.catalogue import CATALOGUE_PATH, load_catalogue

SHARED = Path(os.environ.get("IOTGW_SEEDS", Path(__file__).resolve().parents[3] / "shared" / "seeds"))
COPIES = Path(__file__).resolve().parents[2] / "rollup" / "plans"  # the plans as shipped


def _lines(seed: str) -> list[str]:
    # Seed 004 is stored decomposed (NFD): compare in NFC, as the catalogue is written.
    return unicodedata.normalize("NFC", (COPIES / seed).read_text(encoding="utf-8")).split("\n")


def test_the_shipped_plans_are_the_shared_seeds() -> None:
    """The copies in rollup/plans/ are the project's seeds, byte for byte (checked where the
    seeds folder is beside the checkout, as on the development machines)."""
    copies = sorted(p.name for p in COPIES.glob("*.txt"))
    assert len(copies) == 5
    if SHARED.is_dir():
        assert copies == sorted(p.name for p in SHARED.glob("*.txt"))
        for name in copies:
            assert (COPIES / name).read_bytes() == (SHARED / name).read_bytes(), name


def test_every_source_line_exists_and_contains_its_quote() -> None:
    catalogue = load_catalogue()
    checked = 0
    for indicator in catalogue.indicators:
        for source in indicator.sources:
            lines = _lines(source.seed)
            assert source.line <= len(lines), f"{indicator.id}: {source.seed} has {len(lines)} lines"
            assert source.quote in lines[source.line - 1], (
                f"{indicator.id}: {source.seed} line {source.line} does not say {source.quote!r}")
            checked += 1
    assert checked >= 25


def test_the_issue_s_indicators_are_all_there_with_their_targets() -> None:
    catalogue = load_catalogue()
    cited = {(s.seed[:3], s.line) for i in catalogue.indicators for s in i.sources}
    wanted = {("000", 32), ("000", 36), ("001", 77), ("004", 103), ("004", 129), ("002", 56),
              ("001", 399), ("003", 95), ("003", 203), ("003", 31), ("003", 43), ("000", 189),
              ("002", 275), ("000", 147), ("002", 221), ("002", 527), ("000", 138), ("002", 215),
              ("000", 63), ("002", 44), ("002", 46), ("000", 59), ("000", 383), ("004", 515),
              ("000", 266), ("000", 28), ("000", 29), ("000", 33), ("000", 34), ("000", 35),
              ("002", 53), ("002", 55), ("004", 107), ("004", 109), ("004", 132), ("004", 134),
              ("001", 211), ("002", 525)}
    assert wanted <= cited
    smes = catalogue.get("smes_using_platform")
    assert [(t.comparator, t.value, t.year) for t in smes.targets] == [
        (">", 50, 2025), (">", 50, 2025), (">", 70, 2030)]
    assert {"province", "commune", "sector"} <= set(catalogue.get("active_iot_devices").breakdowns)
    assert catalogue.get("farms_coops_using_platform").targets[0].met_by(50)
    assert not smes.targets[0].met_by(50)  # "trên 50%": more than


def test_the_definitions_are_written_in_the_catalogue() -> None:
    definitions = load_catalogue().definitions
    assert {"active_device", "platform_use", "attribution", "denominator", "availability"} <= set(
        definitions)


@pytest.mark.parametrize(("change", "message"), [
    ('kind = "platform_usage"', "kind: Input should be"),
    ('unit = "%"', "active_devices counts 'devices'"),
    ('organisation_types = ["farm", "agricultural_cooperative"]', "organisation_types"),
    ('line = 32', "line: Input should be greater than or equal to 1"),
])
def test_a_bad_catalogue_is_refused_with_file_line_and_key(tmp_path: Path, change: str,
                                                          message: str) -> None:
    text = CATALOGUE_PATH.read_text(encoding="utf-8")
    broken = {
        'kind = "platform_usage"': ('kind = "platform_usage"', 'kind = "usage"'),
        'unit = "%"': ('formula = { kind = "organisation_share", organisation_types = ["factory"],'
                       ' evidence = ["declaration"], declares = "mes" }',
                       'formula = { kind = "active_devices" }'),
        'organisation_types = ["farm", "agricultural_cooperative"]': (
            'organisation_types = ["farm", "agricultural_cooperative"], evidence',
            'organisation_types = ["farm", "orchard"], evidence'),
        'line = 32': ("line = 32,", "line = 0,"),
    }[change]
    assert broken[0] in text
    path = tmp_path / "catalogue.toml"
    path.write_text(text.replace(broken[0], broken[1], 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    assert str(path) in str(err.value) and message in str(err.value)


# Per target: (indicator, plan, line) -> (comparator, value, year), read off the plan by hand.
# The year is that of the plan's section: 000 "đến năm 2030" (line 19, and the whole
# 2026-2030 plan for lines 63 and 189), 001 the year 2025, 002 the year 2026, 003 "đến năm
# 2026" (line 25) and "đến năm 2030" (line 37), 004 "đến năm 2025" (line 93) and "đến năm
# 2030" (line 119).
TARGETS = {
    ("farms_coops_using_platform", "000", 32): (">=", 50, 2030),
    ("factories_using_mes", "000", 36): (">=", 50, 2030),
    ("smes_using_platform", "001", 77): (">", 50, 2025),
    ("smes_using_platform", "004", 103): (">", 50, 2025),
    ("smes_using_platform", "004", 129): (">", 70, 2030),
    ("smes_applying_digital_technology", "002", 56): (">=", 30, 2026),
    ("industrial_zone_businesses_using_platform", "001", 399): (">=", 60, 2025),
    ("products_identified_on_traceability_portal", "003", 31): (">=", 35, 2026),
    ("products_identified_on_traceability_portal", "003", 43): (">=", 70, 2030),
    ("households_smart_metered", "000", 189): (">=", 100, 2030),
    ("households_smart_metered", "002", 275): (">=", 100, 2026),
    ("public_projects_with_sensors", "000", 63): (">=", 100, 2030),
    ("smart_city_wards_with_urban_sensors", "002", 44): (">=", 100, 2026),
    ("enterprises_on_management_platform", "000", 28): (">=", 90, 2030),
    ("enterprises_using_ecommerce", "000", 29): (">", 70, 2030),
    ("enterprises_using_ecommerce", "002", 53): (">", 95, 2026),
    ("smes_selling_on_ecommerce_platforms", "002", 55): (">=", 55, 2026),
    ("tourism_establishments_on_platform", "000", 33): (">=", 70, 2030),
    ("seaports_on_platform", "000", 34): (">=", 70, 2030),
    ("border_gates_on_platform", "000", 35): (">=", 70, 2030),
    ("ocop_products_on_ecommerce", "004", 109): (">", 80, 2025),
    ("ocop_products_on_ecommerce", "004", 134): (">=", 100, 2030),
}
# The wording a comparator stands for; "every household" and "must" stand for 100%.
WORDING = {">=": ("tối thiểu", "đạt", "chỉ tiêu"), ">": ("trên",)}
EVERY = {("000", 189): "từng hộ gia đình", ("002", 275): "từng hộ gia đình", ("000", 63): "phải",
         ("002", 44): "hoàn thành"}
YEAR_HEADINGS = {("000", 19): "đến năm 2030", ("003", 25): "đến năm 2026", ("003", 37): "đến năm 2030",
                 ("004", 93): "đến năm 2025", ("004", 119): "đến năm 2030"}


def _plan_lines(plan: str) -> list[str]:
    return _lines(load_catalogue().plan(plan).seed)


def test_every_target_is_the_plan_s_at_its_line_with_its_year() -> None:
    catalogue = load_catalogue()
    found = {(i.id, t.plan, t.line): (t.comparator, t.value, t.year)
             for i in catalogue.indicators for t in i.targets}
    assert found == TARGETS
    for (_, plan, line), (comparator, value, _) in TARGETS.items():
        text = _plan_lines(plan)[line - 1]
        if (plan, line) in EVERY:
            assert value == 100 and EVERY[plan, line] in text, (plan, line)
            continue
        words = "|".join(WORDING[comparator])
        assert re.search(rf"(?:{words})\s+{value:g}%", text, re.IGNORECASE), (plan, line, text)
    for (plan, line), heading in YEAR_HEADINGS.items():
        assert heading in _plan_lines(plan)[line - 1], (plan, line)


def test_each_plan_names_the_area_it_was_written_for() -> None:
    catalogue = load_catalogue()
    areas = {p.id: (p.province, p.former_province) for p in catalogue.plans}
    # 004: Bà Rịa - Vũng Tàu (77), now in Hồ Chí Minh City (79); 001: Đồng Nai (75) in 2025,
    # before its merger with Bình Phước; 000, 002, 003: today's Đồng Nai and Đồng Tháp.
    assert areas == {"000": (75, None), "001": (75, 75), "002": (82, None), "003": (75, None),
                     "004": (79, 77)}
    assert "Bà Rịa - Vũng Tàu" in _plan_lines("004")[4] and "năm 2025" in _plan_lines("001")[3]
    smes = catalogue.get("smes_using_platform")
    assert [(t.plan, t.level, t.unit, t.province) for t in smes.targets] == [
        ("001", "plan_area", "001", 75), ("004", "plan_area", "004", 79), ("004", "plan_area", "004", 79)]
    assert smes.plan_areas() == [("001", 75, 75), ("004", 79, 77)]
    assert "plan_area" in catalogue.get("industrial_zone_businesses_using_platform").breakdowns
    assert catalogue.get("farms_coops_using_platform").targets[0].level == "province"


NOT_TELEMETRY = {"factories_using_mes", "enterprises_on_management_platform", "enterprises_using_ecommerce",
                 "smes_selling_on_ecommerce_platforms", "products_identified_on_traceability_portal",
                 "ocop_products_on_ecommerce", "tourism_establishments_on_platform", "seaports_on_platform",
                 "border_gates_on_platform"}


def test_mes_invoices_ecommerce_and_traceability_count_no_device_or_platform_use() -> None:
    catalogue = load_catalogue()
    for indicator_id in NOT_TELEMETRY:
        evidence = set(catalogue.get(indicator_id).formula.evidence)
        assert evidence and evidence <= {"declaration", "aggregate"}, indicator_id
    assert catalogue.get("factories_using_mes").formula.declares == "mes"
    traceability = catalogue.get("products_identified_on_traceability_portal")
    assert traceability.formula.measure == "barcoded_products_on_traceability_portal"
    assert not catalogue.get("growing_areas_with_iot").targets  # the IoT task has no number


def test_a_proxy_measured_indicator_is_judged_on_the_plan_s_measure() -> None:
    """Where devices or platform use count too, the plan's target is judged on declarations
    (the assessment and surveys the plans name: 001 line 211, 002 line 525)."""
    for indicator in load_catalogue().indicators:
        proxies = {"telemetry", "platform_use"} & set(indicator.formula.evidence)
        if proxies and indicator.kind == "platform_usage":
            assert indicator.targets, indicator.id
            assert all(t.evidence == ["declaration"] for t in indicator.targets), indicator.id


@pytest.mark.parametrize(("old", "new", "message"), [
    ('plan = "004", line = 103', 'plan = "004", line = 104', "line 104 is not among the sources"),
    ('plan = "004", line = 103', 'plan = "009", line = 103', "unknown plan 009"),
    ('breakdowns = ["province", "plan_area"]', 'breakdowns = ["province"]', "'plan_area' is a breakdown"),
    ('evidence = ["declaration"], declares = "mes"', 'evidence = ["telemetry"], declares = "mes"',
     "declares"),
])
def test_a_target_off_its_plan_or_area_is_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = CATALOGUE_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "catalogue.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    assert message in str(err.value)
