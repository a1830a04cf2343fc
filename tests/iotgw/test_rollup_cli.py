"""``iotgw rollup`` and ``iotgw indicators`` as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.schema import create_storage

from iotgw.processes import Influxd
from tests.iotgw.test_cli import iotgw


def test_indicators_list_names_each_indicator_with_its_plan_lines() -> None:
    result = iotgw("indicators", "list")
    assert result.returncode == 0, result.stderr
    assert "farms_coops_using_platform" in result.stdout and "000 L32" in result.stdout
    listed = json.loads(iotgw("indicators", "list", "--json").stdout)
    smes = next(i for i in listed if i["id"] == "smes_using_platform")
    # Seed 004 is scored on former Bà Rịa - Vũng Tàu (77), not the whole of city 79.
    assert {(t["plan"], t["province"], t["former_province"], t["value"]) for t in smes["targets"]} >= {
        ("004", 79, 77, 70)}


def test_backfill_refuses_a_reversed_range_and_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "rollup.toml"
    config.write_text("interval_s = 0\n")
    bad = iotgw("rollup", "backfill", "--config", str(config), "--from", "2026-03-01", "--to", "2026-03-02")
    assert bad.returncode == 2
    assert f"{config}: line 1, interval_s: Input should be greater than 0" in bad.stderr
    config.write_text("")
    reversed_ = iotgw("rollup", "backfill", "--config", str(config), "--from", "2026-03-02",
                      "--to", "2026-03-01")
    assert reversed_.returncode == 2 and "is before --from" in reversed_.stderr


def _rollup_config(tmp_path: Path, influxd: Influxd, database: str, settings: str = "") -> Path:
    """A rollup.toml over a fresh registry and the test's database."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    assert iotgw("registry", "init", "--url", url).returncode == 0
    config = tmp_path / "rollup.toml"
    config.write_text(f'registry_url = "{url}"\n{settings}[influx]\nurl = "{influxd.url}"\n'
                      f'database = "{database}"\n')
    return config


@pytest.mark.integration
def test_backfill_shows_progress_and_a_summary(tmp_path: Path, influxd: Influxd, unique_name: str) -> None:
    config = _rollup_config(tmp_path, influxd, unique_name)
    result = iotgw("rollup", "backfill", "--config", str(config), "--from", "2026-03-01",
                   "--to", "2026-03-03")
    assert result.returncode == 0, result.stderr
    # 3 days, then 3 days + 1 month + 1 half-year + 1 year of indicator periods.
    assert "9/9" in result.stderr
    assert "RunSummary(hours=72, days=3, periods=6" in result.stderr


@pytest.mark.integration
def test_check_is_unhealthy_until_a_run_succeeds(tmp_path: Path, influxd: Influxd, unique_name: str) -> None:
    config = _rollup_config(tmp_path, influxd, unique_name, "interval_s = 60\n")
    before = iotgw("rollup", "check", "--config", str(config))
    assert before.returncode == 1 and "database not found" in before.stderr
    with InfluxClient(influxd.url) as influx:
        create_storage(influx, unique_name, raw_retention="INF")
    never = iotgw("rollup", "check", "--config", str(config))
    assert never.returncode == 1 and "rollup is stale: never ran (limit 180 s)" in never.stderr
    assert iotgw("rollup", "run", "--once", "--config", str(config)).returncode == 0
    after = iotgw("rollup", "check", "--config", str(config))
    assert after.returncode == 0, after.stderr
    assert re.search(r"rollup: last run \d+ s ago", after.stderr)
