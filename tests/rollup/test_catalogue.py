"""The catalogue: every figure traced to a plan line that says what the catalogue quotes."""

from __future__ import annotations

import os
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
              ("000", 266)}
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
                       ' platform_use = true }', 'formula = { kind = "active_devices" }'),
        'organisation_types = ["farm", "agricultural_cooperative"]': (
            'organisation_types = ["farm", "agricultural_cooperative"], platform_use',
            'organisation_types = ["farm", "orchard"], platform_use'),
        'line = 32': ("line = 32,", "line = 0,"),
    }[change]
    assert broken[0] in text
    path = tmp_path / "catalogue.toml"
    path.write_text(text.replace(broken[0], broken[1], 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_catalogue(path)
    assert str(path) in str(err.value) and message in str(err.value)
