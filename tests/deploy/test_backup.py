"""The InfluxDB backup and restore of docs/operations.md, run as written against real
influxd processes: a portable backup restored into a fresh server keeps raw data, rollups
and retention policies."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.schema import ROLLUP_RP, create_storage, personal_database

from iotgw.processes import Influxd

pytestmark = pytest.mark.integration

PERSONAL = personal_database("iotgw")  # households' readings: backed up beside the main one


def influxd_tool(*args: str) -> None:
    result = subprocess.run(["influxd", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_influxdb_portable_backup_restores_raw_and_rollups_into_a_new_server(tmp_path: Path) -> None:
    source, target = Influxd(tmp_path / "source"), Influxd(tmp_path / "target")
    source.start()
    target.start()
    try:
        start = int(time.time() * 1000) - 86_400_000
        with InfluxClient(source.url) as influx:
            create_storage(influx, "iotgw", raw_retention="400d")
            influx.write_lines("iotgw", "\n".join(f"telemetry,device=d{i % 7} soil_moisture={i}.0 "
                                                  f"{start + i * 60_000}" for i in range(500)))
            influx.write_lines("iotgw", f"indicators,indicator=x value=42 {start}",
                               retention_policy=ROLLUP_RP)
            influx.write_lines(PERSONAL, f"telemetry,device=meter-1 active_energy=7.5 {start}")
        for db in ("iotgw", PERSONAL):  # the loop of docs/operations.md, section 3
            influxd_tool("backup", "-portable", "-host", f"127.0.0.1:{source.rpc_port}", "-db", db,
                         str(tmp_path / "backup" / db))
            influxd_tool("restore", "-portable", "-host", f"127.0.0.1:{target.rpc_port}", "-db", db,
                         str(tmp_path / "backup" / db))
        with InfluxClient(target.url) as influx:
            [home] = influx.query(PERSONAL, 'SELECT "active_energy" FROM "telemetry"')
            assert home.rows[0]["active_energy"] == 7.5
            [raw] = influx.query("iotgw", 'SELECT count("soil_moisture") FROM "telemetry"')
            assert raw.rows[0]["count"] == 500
            [rolled] = influx.query("iotgw", f'SELECT "value" FROM "{ROLLUP_RP}"."indicators"')
            assert rolled.rows[0]["value"] == 42
            policies = {s["name"]: s for s in influx.query("iotgw", "SHOW RETENTION POLICIES")[0].rows}
            assert policies["raw"]["duration"] == "9600h0m0s" and policies["raw"]["default"]
    finally:
        source.stop()
        target.stop()

