"""InfluxDB's accounts as the compose deployment names them (secrets.env), and
``iotgw provision influx`` run with them against an influxd with auth, as the deployment
runs it before the services start."""

from __future__ import annotations

import subprocess
import sys

from iotgw.tsdb import InfluxClient

from iotgw.processes import Influxd

DB = "iotgw"
ACCOUNTS = {
    "INFLUXDB_ADMIN_USER": "admin", "INFLUXDB_ADMIN_PASSWORD": "admin-secret",
    "INFLUXDB_READ_USER": "grafana", "INFLUXDB_READ_USER_PASSWORD": "grafana-secret",
    "IOTGW_INFLUX_INGEST_USER": "iotgw-ingest", "IOTGW_INFLUX_INGEST_PASSWORD": "ingest-secret",
    "IOTGW_INFLUX_ROLLUP_USER": "iotgw-rollup", "IOTGW_INFLUX_ROLLUP_PASSWORD": "rollup-secret",
    "IOTGW_INFLUX_API_USER": "iotgw-api", "IOTGW_INFLUX_API_PASSWORD": "api-secret",
}
_KEYS = {"admin": ("INFLUXDB_ADMIN_USER", "INFLUXDB_ADMIN_PASSWORD"),
         "grafana": ("INFLUXDB_READ_USER", "INFLUXDB_READ_USER_PASSWORD")}


def credentials(service: str) -> tuple[str, str]:
    """The user and password of ``service``'s account: ``admin``, ``grafana`` (the read
    account), or one of iotgw's services (``ingest``, ``rollup``, ``api``)."""
    user, password = _KEYS.get(service, (f"IOTGW_INFLUX_{service.upper()}_USER",
                                         f"IOTGW_INFLUX_{service.upper()}_PASSWORD"))
    return ACCOUNTS[user], ACCOUNTS[password]


def create_admin(influxd: Influxd) -> None:
    """The first admin, made anonymously as the InfluxDB image makes it from its env."""
    user, password = credentials("admin")
    with InfluxClient(influxd.url) as anonymous:
        anonymous.query(None, f"CREATE USER {user} WITH PASSWORD '{password}' WITH ALL PRIVILEGES")


def provision(influxd: Influxd, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``iotgw provision influx`` on database ``DB`` with only ``env`` (and a PATH) in its
    environment, so that nothing of the test runner's leaks into what it is given."""
    return subprocess.run(
        [sys.executable, "-m", "iotgw", "provision", "influx", "--url", influxd.url, "--database", DB],
        capture_output=True, text=True, timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **env})
