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
    result = iotgw("gateway", "check-config", "--config", str(config))
    assert result.returncode == 2
    assert f"{config}: line 9, devices.0.interval_s: Input should be greater than 0" in result.stderr


def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n[[devices]]\nid = "d1"\n'
                      'driver = "simulated"\nprofile = "soil_probe"\ninterval_s = 5\n')
    result = iotgw("gateway", "check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "ok (1 devices)" in result.stderr


def test_bad_log_level_is_a_usage_error() -> None:
    result = iotgw("--log-level", "LOUD", "ingest", "--help")
    assert result.returncode == 2
    assert "unknown log level 'LOUD'" in result.stderr


def test_registry_init_and_an_all_or_nothing_import(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    init = iotgw("registry", "init", "--url", url)
    assert init.returncode == 0, init.stderr
    assert "34 provinces, 3321 communes and wards" in init.stderr
    bad = tmp_path / "orgs.csv"
    bad.write_text("id,name,type,sector,ward_code,since\n"
                   "f1,A,farm,agriculture,70,2025-01-01\n"
                   "f2,B,farm,agriculture,1,2025-01-01\n")
    refused = iotgw("registry", "import", "organisations", str(bad), "--url", url)
    assert refused.returncode == 2
    assert "1 bad rows, nothing imported" in refused.stderr
    assert f"{bad}: line 3: ward_code: no current ward 1" in refused.stderr
    bad.write_text("id,name,type,sector,ward_code,since\nf1,A,farm,agriculture,70,2025-01-01\n")
    accepted = iotgw("registry", "import", "organisations", str(bad), "--url", url)
    assert accepted.returncode == 0, accepted.stderr
    assert "imported 1 organisations" in accepted.stderr


def test_successions_import_and_reassign_keep_history(tmp_path: Path) -> None:
    import datetime as dt

    from iotgw.registry import SubjectKind, make_engine, placements_at, session_factory

    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    assert iotgw("registry", "init", "--url", url).returncode == 0
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("id,name,type,sector,ward_code,since\nf1,A,farm,agriculture,70,2025-01-01\n")
    assert iotgw("registry", "import", "organisations", str(orgs), "--url", url).returncode == 0
    succ = tmp_path / "succ.csv"
    header = "retired_code,retired_name,successor_code,effective\n"
    succ.write_text(header + "70,Phường Hoàn Kiếm,999999,2025-07-01\n")
    refused = iotgw("registry", "import", "successions", str(succ), "--url", url)
    assert refused.returncode == 2 and "line 2: successor_code: no current ward 999999" in refused.stderr
    succ.write_text(header + "70,Phường Hoàn Kiếm,73,2025-07-01\n")
    assert iotgw("registry", "import", "successions", str(succ), "--url", url).returncode == 0
    moved = iotgw("registry", "reassign", "--at", "2025-07-01T00:00:00+07:00", "--url", url)
    assert moved.returncode == 0, moved.stderr
    assert "ward 70: 1 moved to its successor" in moved.stderr
    with session_factory(make_engine(url))() as session:
        def ward(iso: str) -> list[int]:
            at = dt.datetime.fromisoformat(iso)
            return [p.ward_code for p in placements_at(session, SubjectKind.ORGANISATION, at)]

        assert ward("2025-06-30T16:59:59+00:00") == [70]
        assert ward("2025-06-30T17:00:00+00:00") == [73]
    naive = iotgw("registry", "reassign", "--at", "2025-07-01T00:00:00", "--url", url)
    assert naive.returncode == 2 and "needs a UTC offset" in naive.stderr


def test_ten_thousand_devices_import_with_a_progress_bar(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    assert iotgw("registry", "init", "--url", url).returncode == 0
    gateways = tmp_path / "gw.csv"
    gateways.write_text("id,ward_code,installed_on\n" + "".join(
        f"gw-{g},70,2025-01-01\n" for g in range(50)))
    assert iotgw("registry", "import", "gateways", str(gateways), "--url", url).returncode == 0
    devices = tmp_path / "dev.csv"
    devices.write_text("id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code\n"
                       + "".join(f"m-{n},gw-{n % 50},electricity_meter,energy,900,2025-02-01,70\n"
                                 for n in range(10_000)))
    result = iotgw("registry", "import", "devices", str(devices), "--url", url)
    assert result.returncode == 0, result.stderr
    assert "10000/10000" in result.stderr  # the bar's final state
    assert "imported 10000 devices" in result.stderr


def test_dead_letters_from_a_store_that_cannot_be_opened_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("")
    config = tmp_path / "ingest.toml"
    config.write_text(f'dead_letter_path = "{tmp_path}/not-a-dir/dead.sqlite"\n')
    result = iotgw("ingest", "dead-letters", "--config", str(config))
    assert result.returncode == 1
    assert "cannot open dead-letter store" in result.stderr
    assert "Traceback" not in result.stderr


def test_gateway_install_writes_a_hardened_unit_for_a_valid_config(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('gateway_id = "gw-1"\n[buffer]\npath = "/var/lib/iotgw/buffer.sqlite"\n\n'
                      '[[devices]]\nid = "d1"\ndriver = "modbus"\nprofile = "electricity_meter"\n'
                      'interval_s = 60\nmodbus = { host = "10.0.0.5", model = "eastron_sdm630m" }\n')
    result = iotgw("gateway", "install", "--config", str(config), "--unit-dir", str(tmp_path / "units"))
    assert result.returncode == 0, result.stderr
    unit = (tmp_path / "units" / "iotgw-gateway.service").read_text()
    assert f"ExecStart={sys.executable} -P -m iotgw gateway run --config {config}" in unit
    for line in ("User=iotgw", "Restart=always", "ProtectSystem=strict", "ReadWritePaths=/var/lib/iotgw",
                 "NoNewPrivileges=yes"):
        assert line in unit
    assert "@" not in unit.replace("multi-user", "")


def test_gateway_install_refuses_a_bad_config_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text('gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n[[devices]]\nid = "d1"\n'
                      'driver = "modbus"\nprofile = "electricity_meter"\ninterval_s = 60\n'
                      'modbus = { host = "10.0.0.5", serial_port = "/dev/ttyUSB0",'
                      ' model = "eastron_sdm630m" }\n')
    result = iotgw("gateway", "install", "--config", str(config), "--unit-dir", str(tmp_path / "units"))
    assert result.returncode == 2
    assert "give either host (Modbus TCP) or serial_port (Modbus RTU)" in result.stderr
    assert not (tmp_path / "units").exists()
