"""`iotgw provision influx` against influxd with auth enabled, as the compose deployment runs
it: each service's account can do what its service does and nothing more, and Grafana's
cannot read the personal database (household meters' readings)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from iotgw.tsdb import InfluxClient, QueryFailed, WriteRejected
from iotgw.tsdb.client import NotAuthorized
from iotgw.tsdb.schema import RAW_RP, ROLLUP_RP, TELEMETRY, create_storage, personal_database

from iotgw.processes import Influxd
from tests.influx_accounts import ACCOUNTS, DB, create_admin, credentials, provision

pytestmark = pytest.mark.integration

PERSONAL = personal_database(DB)
ENV = {**ACCOUNTS, "IOTGW_RAW_RETENTION": "400d"}
NOW_MS = int(time.time() * 1000)  # within the raw retention policy's 400 days
LINE = f"telemetry,device=d1,organisation_type=household_meter_point energy_kwh=1 {NOW_MS}"


def grant(influxd: Influxd, env: dict[str, str] = ENV) -> subprocess.CompletedProcess[str]:
    return provision(influxd, env)


def account(influxd: Influxd, service: str) -> InfluxClient:
    """A client logged in as the service's account (its names as in secrets.env)."""
    return InfluxClient(influxd.url, auth=credentials(service))


@pytest.fixture(scope="module")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    """influxd with auth enabled, its admin created, and the grant command run once."""
    influxd = Influxd(tmp_path_factory.mktemp("influxd-auth"), auth=True)
    influxd.start()
    try:
        create_admin(influxd)
        result = grant(influxd)
        assert result.returncode == 0, result.stderr
        with account(influxd, "ingest") as ingest:  # one reading in each database
            ingest.write_lines(DB, LINE.replace("household_meter_point", "farm"))
            ingest.write_lines(PERSONAL, LINE)
        yield influxd
    finally:
        influxd.stop()


def _select(client: InfluxClient, database: str) -> list[dict]:
    return [row for s in client.query(database, f'SELECT * FROM "{RAW_RP}"."{TELEMETRY}"')
            for row in s.rows]


def test_grafana_reads_the_main_database_and_is_refused_the_personal_one(influxd: Influxd) -> None:
    with account(influxd, "grafana") as grafana:
        assert [row["organisation_type"] for row in _select(grafana, DB)] == ["farm"]
        with pytest.raises(NotAuthorized, match="not authorized"):
            _select(grafana, PERSONAL)
        with pytest.raises(WriteRejected) as caught:
            grafana.write_lines(DB, LINE)
        assert caught.value.status == 403


def test_ingest_writes_both_databases_and_reads_neither(influxd: Influxd) -> None:
    with account(influxd, "ingest") as ingest:
        for database in (DB, PERSONAL):
            ingest.write_lines(database, LINE.replace(str(NOW_MS), str(NOW_MS + 1)))
            with pytest.raises(NotAuthorized):
                _select(ingest, database)


def test_the_api_reads_both_writes_only_the_main_one_and_drops_nothing(influxd: Influxd) -> None:
    with account(influxd, "api") as api:
        assert _select(api, PERSONAL)
        api.write_lines(DB, f"platform_use,organisation=o1 requests=1i {NOW_MS}")
        with pytest.raises(WriteRejected) as caught:
            api.write_lines(PERSONAL, LINE)
        assert caught.value.status == 403
        for database, statement in ((DB, f'DROP MEASUREMENT "{TELEMETRY}"'), (DB, f'DROP DATABASE "{DB}"'),
                                    (PERSONAL, f'DELETE FROM "{TELEMETRY}"')):
            with pytest.raises(NotAuthorized):
                api.query(database, statement)
        assert _select(api, DB) and _select(api, PERSONAL)


def test_the_rollup_reads_and_writes_both(influxd: Influxd) -> None:
    with account(influxd, "rollup") as rollup:
        for database in (DB, PERSONAL):
            assert _select(rollup, database)
            rollup.write_lines(database, f"device_hourly,device=d1 readings=1 {NOW_MS}",
                               retention_policy=ROLLUP_RP)


def test_run_again_it_takes_back_a_wider_grant_and_sets_a_new_password(influxd: Influxd) -> None:
    with InfluxClient(influxd.url, auth=credentials("admin")) as admin:
        admin.query(None, f'GRANT ALL ON "{PERSONAL}" TO "grafana"')  # a mistake by hand
    with account(influxd, "grafana") as grafana:
        assert _select(grafana, PERSONAL)
    changed = {**ENV, "IOTGW_INFLUX_API_PASSWORD": "new-api-secret"}
    result = grant(influxd, changed)
    assert result.returncode == 0, result.stderr
    assert "grafana: InfluxDB account grafana, READ on iotgw, no grant on its personal" in result.stderr
    with account(influxd, "grafana") as grafana, pytest.raises(NotAuthorized):
        _select(grafana, PERSONAL)
    with InfluxClient(influxd.url, auth=("iotgw-api", "new-api-secret")) as api:
        assert _select(api, DB)
    assert grant(influxd).returncode == 0  # and back, for the other tests


def test_a_missing_secret_is_named_and_nothing_runs(influxd: Influxd) -> None:
    env = {k: v for k, v in ENV.items() if k != "IOTGW_INFLUX_ROLLUP_PASSWORD"}
    result = grant(influxd, env)
    assert result.returncode == 2
    assert "IOTGW_INFLUX_ROLLUP_PASSWORD is not set" in result.stderr


def test_a_service_account_starts_without_creating_storage_but_a_wrong_password_stops_it(
        influxd: Influxd) -> None:
    """Services call ``create_storage`` at start: with their own account, which may not
    create databases, it leaves that to the command; a wrong password is an error, never
    taken for a missing grant (ingest would dead-letter every reading it then cannot write)."""
    with account(influxd, "ingest") as ingest:
        create_storage(ingest, DB, raw_retention="400d")
    with InfluxClient(influxd.url, auth=("iotgw-ingest", "guess")) as wrong:
        with pytest.raises(QueryFailed, match="authorization failed") as caught:
            create_storage(wrong, DB, raw_retention="400d")
        assert not isinstance(caught.value, NotAuthorized)
