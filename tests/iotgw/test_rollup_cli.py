"""``iotgw rollup`` and ``iotgw indicators`` as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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


def _table_rows(table: str) -> dict[str, list[str]]:
    """A rich table's rows by their first cell: each column's text, its lines joined."""
    rows: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for line in table.splitlines():
        if not line.startswith("│"):
            current = []  # a rule between rows
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if not current:
            current = [[] for _ in cells]
            rows[cells[0]] = current
        for column, cell in zip(current, cells, strict=True):
            column.append(cell)
    return {key: [" ".join(filter(None, lines)) for lines in columns] for key, columns in rows.items()}


def test_indicators_list_shows_each_indicator_s_evidence_and_each_target_s_area() -> None:
    """The formula's evidence kinds, and for each target the area it is scored on and the
    plan's own measure, in the table (wide enough not to fold) and in --json."""
    wide = subprocess.run([sys.executable, "-m", "iotgw", "indicators", "list"], capture_output=True,
                          text=True, timeout=60, env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"})
    assert wide.returncode == 0, wide.stderr
    rows = _table_rows(wide.stdout)
    assert "formula / evidence" in wide.stdout and "targets (area)" in wide.stdout  # the headings
    smes = rows["smes_using_platform"]
    assert smes[3] == "organisation_share declaration, telemetry, platform_use"
    assert "> 70 by 2030 (former Tỉnh Bà Rịa - Vũng Tàu (77) in province 79: plan_area 004;" \
           " measured by declaration; 004 L129)" in smes[4]
    assert rows["farms_with_field_sensors"][3] == "organisation_share telemetry"
    assert rows["farms_coops_using_platform"][4] == \
        ">= 50 by 2030 (province 75; measured by declaration; 000 L32)"
    listed = {i["id"]: i for i in json.loads(iotgw("indicators", "list", "--json").stdout)}
    assert listed.keys() == rows.keys()
    smes_json = listed["smes_using_platform"]
    assert smes_json["formula"]["evidence"] == ["declaration", "telemetry", "platform_use"]
    assert {(t["province"], t["former_province"], tuple(t["evidence"]))
            for t in smes_json["targets"]} == {(75, 75, ("declaration",)), (79, 77, ("declaration",))}
    assert all(i["formula"]["evidence"] for i in listed.values())


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
