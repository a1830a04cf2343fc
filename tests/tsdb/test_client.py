"""The InfluxDB client against a real influxd: errors, retries, databases and retention."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from iotgw.tsdb import Backoff, InfluxClient, QueryFailed, Unavailable, WriteRejected
from iotgw.tsdb.config import InfluxConfig
from pydantic import ValidationError

from iotgw.processes import Influxd, free_port

pytestmark = pytest.mark.integration


def test_bad_data_is_rejected_at_once_not_retried(influx: InfluxClient, database: str) -> None:
    with pytest.raises(WriteRejected) as caught:
        influx.write_lines(database, "no fields here")
    assert caught.value.status == 400
    assert "unable to parse" in caught.value.body
    assert influx.retries == 0


def test_field_type_conflict_is_a_rejection(influx: InfluxClient, database: str) -> None:
    now = int(time.time() * 1000)
    influx.write_lines(database, f"m v=1.0 {now}")
    with pytest.raises(WriteRejected, match="field type conflict"):
        influx.write_lines(database, f'm v="text" {now + 1}')


def test_unreachable_database_is_retried_then_unavailable() -> None:
    slept: list[float] = []
    client = InfluxClient(f"http://127.0.0.1:{free_port()}",
                          backoff=Backoff(initial_s=0.1, max_s=0.4, max_attempts=5),
                          sleep=slept.append)
    with pytest.raises(Unavailable) as caught:
        client.write_lines("db", "m v=1 1")
    assert caught.value.attempts == 5
    assert "ConnectError" in caught.value.last_error
    assert client.retries == 4 and len(slept) == 4
    assert all(0 <= s <= 0.4 for s in slept)


def test_backoff_is_capped_exponential() -> None:
    backoff = Backoff(initial_s=0.5, max_s=4.0)
    caps = [min(4.0, 0.5 * 2 ** (n - 1)) for n in range(1, 8)]
    for attempt, cap in enumerate(caps, start=1):
        assert all(0 <= backoff.delay_s(attempt) <= cap for _ in range(50))


def test_query_error_is_reported(influx: InfluxClient, database: str) -> None:
    with pytest.raises(QueryFailed, match="error parsing query"):
        influx.query(database, "SELEKT nonsense")


def test_retention_policy_created_then_altered(influx: InfluxClient, database: str) -> None:
    influx.create_retention_policy(database, "raw", duration="30d", default=True)
    influx.create_retention_policy(database, "raw", duration="90d", default=True)
    policies = {row["name"]: row for s in influx.query(
        database, f'SHOW RETENTION POLICIES ON "{database}"') for row in s.rows}
    assert policies["raw"]["duration"] == "2160h0m0s"
    assert policies["raw"]["default"] is True


def test_ping(influx: InfluxClient) -> None:
    assert influx.ping()
    assert not InfluxClient(f"http://127.0.0.1:{free_port()}").ping()


def test_basic_auth_against_influxd_with_auth_enabled(tmp_path: Path) -> None:
    """The compose deployment runs InfluxDB with auth-enabled: services log in with the
    account `iotgw provision init` generated; a wrong or missing password is refused clearly."""
    influxd = Influxd(tmp_path, auth=True)
    influxd.start()
    try:
        with InfluxClient(influxd.url) as anonymous:
            # InfluxDB 1.x lets the first admin be created without credentials, then never again.
            anonymous.query(None, "CREATE USER iotgw WITH PASSWORD 's3cret' WITH ALL PRIVILEGES")
            with pytest.raises(QueryFailed, match=r"authorization|authentication"):
                anonymous.query(None, "SHOW DATABASES")
        config = InfluxConfig(url=influxd.url, database="authdb", username="iotgw", password="s3cret")
        with config.client() as client:
            client.create_database("authdb")
            client.write_lines("authdb", "m,device=d1 v=1 1000")
            assert client.query("authdb", "SELECT v FROM m")[0].rows == [{"time": 1000, "v": 1.0}]
        wrong = config.model_copy(update={"password": "guess"})
        with wrong.client() as client, pytest.raises(WriteRejected) as caught:
            client.write_lines("authdb", "m,device=d1 v=2 2000")
        assert caught.value.status == 401
    finally:
        influxd.stop()


@pytest.mark.parametrize("fields, message", [
    ({"username": "u"}, "username and password go together"),
    ({"token": "t", "username": "u", "password": "p"}, "not both"),
])
def test_influx_auth_settings_are_checked(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        InfluxConfig(**fields)
