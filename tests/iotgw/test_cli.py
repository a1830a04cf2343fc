"""The command line as a user runs it: a real ``python -m iotgw`` process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def iotgw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "iotgw", *args], capture_output=True, text=True,
                          timeout=60, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_help_lists_the_commands() -> None:
    result = iotgw("--help")
    assert result.returncode == 0
    for command in ("demo", "gateway", "ingest"):
        assert command in result.stdout
    sub = iotgw("ingest", "--help")
    for command in ("run", "retire", "dead-letters"):
        assert command in sub.stdout


def test_check_config_reports_field_and_line_with_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n[[devices]]\nid = "d1"\n'
                      'driver = "simulated"\nprofile = "soil_probe"\ninterval_s = -1\n')
    result = iotgw("gateway", "check-config", str(config))
    assert result.returncode == 2
    assert f"{config}: line 9, devices.0.interval_s: Input should be greater than 0" in result.stderr


def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n[[devices]]\nid = "d1"\n'
                      'driver = "simulated"\nprofile = "soil_probe"\ninterval_s = 5\n')
    result = iotgw("gateway", "check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert "ok (1 devices)" in result.stderr


def test_bad_log_level_is_a_usage_error() -> None:
    result = iotgw("--log-level", "LOUD", "ingest", "--help")
    assert result.returncode == 2
    assert "unknown log level 'LOUD'" in result.stderr
