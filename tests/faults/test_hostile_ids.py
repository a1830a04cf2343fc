"""Hostile ids (issue 18): an id is written unescaped into Mosquitto's password file
(``user:hash``), its ACL, topics and URLs. Before ``:`` was refused, a province's API token
could register gateway ``iotgw-admin:``, and ``iotgw provision gateway "iotgw-admin:"``
wrote ``iotgw-admin::$7$...``, which Mosquitto reads as a second ``iotgw-admin`` whose
password wins: the bundle's password logged in with the operators' rights, and theirs was
refused. Each way in is tried here as far as it goes: the API's imports (CSV and JSON), the
CLI's, ``provision`` of such a gateway, and rows planted in the registry past every check
(an older release's), ending at a real Mosquitto."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import subprocess
import time
from pathlib import Path

import pytest
from iotgw.registry import (
    AccountRole,
    BrokerAccount,
    Device,
    Gateway,
    Sector,
    SubjectKind,
    make_engine,
    place,
    session_factory,
)
from iotgw.registry.provisioning import mosquitto_hash
from sqlalchemy import select

from iotgw.processes import Mosquitto
from tests.api import conftest as api
from tests.api.conftest import Stack
from tests.faults import ledger
from tests.iotgw.test_cli import iotgw
from tests.mqtt_probe import connect

pytestmark = [pytest.mark.integration, pytest.mark.faults]
stack = api.stack  # the API's fixture: a province's registry behind the real app

HOSTILE = ("iotgw-admin:", "ingest:")  # a service account's name and a colon
RULE = "1-64 characters of letters, digits, '_', '.', '-', starting with a letter or digit"
WARD = 70  # a current ward of the registry's seed
ATTACKER = "the bundle's password"  # of the account an older release made for iotgw-admin:


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_province_cannot_register_a_service_account_s_name(stack: Stack, hostile: str) -> None:
    own = {"Authorization": f"Bearer {stack.tokens['dong_thap']}"}
    ward = stack.wards[0]
    gateway = {"id": hostile, "ward_code": ward, "installed_on": "2026-01-01"}
    device = {"id": "soil-9", "gateway_id": hostile, "profile": "soil_probe", "sector": "agriculture",
              "expected_interval_s": 600, "installed_on": "2026-01-01", "ward_code": ward}
    attempts = [
        (stack.client.post("/v1/registry/gateways", headers=own,
                           content=f"id,ward_code,installed_on\n{hostile},{ward},2026-01-01\n"),
         f"gateways.csv: line 2: id: Value error, invalid id {hostile!r}: {RULE}"),
        (stack.client.post("/v1/registry/gateways", headers=own, json=[{**gateway, "id": "gw-ok"}, gateway]),
         f"gateways.json: line 2: id: Value error, invalid id {hostile!r}: {RULE}"),
        (stack.client.post("/v1/registry/devices", headers=own, json=device),
         f"devices.json: line 1: gateway_id: Value error, invalid gateway_id {hostile!r}: {RULE}"),
    ]
    named = [response.status_code == 422 and want in response.json()["detail"] for response, want in attempts]
    stored = {row["id"] for kind in ("gateways", "devices")
              for row in stack.client.get(f"/v1/registry/{kind}", headers=own).json()["rows"]}
    nothing = not {hostile, "gw-ok", "soil-9"} & stored
    ledger.refused(f"admin-id registration ({hostile})", ok=all(named) and nothing,
                   verdict="422, line, field and rule named; nothing stored (CSV and JSON)")


@dataclasses.dataclass(frozen=True)
class Provisioned:
    url: str
    broker_dir: Path
    secrets: Path
    bundles: Path

    def provision(self, gateway_id: str) -> subprocess.CompletedProcess[str]:
        return iotgw("provision", "gateway", gateway_id, "--url", self.url, "--broker-dir",
                     str(self.broker_dir), "--out", str(self.bundles), "--ca-dir", str(self.secrets / "ca"))

    def broker_files(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.broker_dir)): p.read_bytes()
                for p in sorted(self.broker_dir.rglob("*")) if p.is_file()}

    def bundle_files(self) -> list[Path]:
        return [p for p in self.bundles.rglob("*") if p.is_file()] if self.bundles.exists() else []


def _ok(*args: str) -> None:
    result = iotgw(*args)
    assert result.returncode == 0, result.stderr


def _said(result: subprocess.CompletedProcess[str]) -> str:
    """stderr as one line (the console wraps long messages)."""
    return " ".join(result.stderr.split())


@pytest.fixture
def provisioned(tmp_path: Path) -> Provisioned:
    """A registry with the operators' and ingest's accounts (``provision init``) and gateway
    gw-ok with one device, as an operator sets one up."""
    done = Provisioned(f"sqlite:///{tmp_path / 'registry.sqlite'}", tmp_path / "broker",
                       tmp_path / "secrets", tmp_path / "bundles")
    (tmp_path / "gw.csv").write_text(f"id,ward_code,installed_on\ngw-ok,{WARD},2025-01-01\n")
    (tmp_path / "dev.csv").write_text("id,gateway_id,profile,sector,expected_interval_s,installed_on,"
                                      f"ward_code\nok-soil,gw-ok,soil_probe,agriculture,60,2025-01-01,{WARD}\n")
    _ok("registry", "init", "--url", done.url)
    _ok("registry", "import", "gateways", str(tmp_path / "gw.csv"), "--url", done.url)
    _ok("registry", "import", "devices", str(tmp_path / "dev.csv"), "--url", done.url)
    _ok("provision", "init", "--url", done.url, "--broker-dir", str(done.broker_dir),
        "--out", str(done.secrets))
    return done


def _plant(url: str) -> None:
    """What an older release let in: gateways with these ids, a device on each, and the
    broker account ``provision gateway "iotgw-admin:"`` made then, written past every check."""
    at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    with session_factory(make_engine(url))() as s, s.begin():
        for n, hostile in enumerate(HOSTILE):
            s.add(Gateway(id=hostile, installed_on=at.date()))
            s.add(Device(id=f"planted-{n}", profile="soil_probe", sector=Sector.AGRICULTURE,
                         expected_interval_s=60, installed_on=at.date()))
            s.flush()
            place(s, SubjectKind.GATEWAY, hostile, at=at, ward_code=WARD)
            place(s, SubjectKind.DEVICE, f"planted-{n}", at=at, ward_code=WARD, gateway_id=hostile)
        s.add(BrokerAccount(username="iotgw-admin:", role=AccountRole.GATEWAY, created_at=at,
                            password_hash=mosquitto_hash(ATTACKER)))


def _accounts(url: str) -> set[tuple[str, str, bool]]:
    with session_factory(make_engine(url))() as s:
        return {(a.username, a.password_hash, a.revoked_at is None) for a in s.scalars(select(BrokerAccount))}


def test_the_cli_refuses_hostile_ids_and_provision_refuses_planted_ones(
    provisioned: Provisioned, tmp_path: Path,
) -> None:
    (tmp_path / "hostile.csv").write_text("id,ward_code,installed_on\n" + "".join(
        f"{hostile},{WARD},2025-01-01\n" for hostile in HOSTILE))
    imported = iotgw("registry", "import", "gateways", str(tmp_path / "hostile.csv"),
                     "--url", provisioned.url)
    assert imported.returncode == 2
    assert f"line 2: id: Value error, invalid id 'iotgw-admin:': {RULE}" in _said(imported)
    assert f"line 3: id: Value error, invalid id 'ingest:': {RULE}" in _said(imported)

    _plant(provisioned.url)
    files, accounts = provisioned.broker_files(), _accounts(provisioned.url)
    for hostile in HOSTILE:
        result = provisioned.provision(hostile)
        named = f"invalid gateway id {hostile!r}: {RULE}" in _said(result)
        untouched = (provisioned.broker_files() == files and provisioned.bundle_files() == []
                     and _accounts(provisioned.url) == accounts)
        ledger.refused(f"provision gateway {hostile!r} (registered before the rule)",
                       ok=result.returncode == 2 and named and untouched,
                       verdict="exit 2, the rule named; no account, bundle or broker file written")
    # Provisioning a good gateway would rewrite the broker's files from the registry, planted
    # rows included: refused, each named, until they are renamed or deleted.
    result = provisioned.provision("gw-ok")
    planted = all(f"gateways {hostile!r}" in _said(result) for hostile in HOSTILE)
    untouched = (provisioned.broker_files() == files and provisioned.bundle_files() == []
                 and _accounts(provisioned.url) == accounts)
    ledger.refused("provision of a good gateway beside planted rows",
                   ok=result.returncode == 2 and planted and untouched,
                   verdict="exit 2, each planted row named; no account, bundle or broker file written")


def test_a_planted_account_stops_provision_and_the_admin_keeps_its_password(
    provisioned: Provisioned, tmp_path: Path,
) -> None:
    _plant(provisioned.url)
    files = provisioned.broker_files()
    result = provisioned.provision("gw-ok")  # any provisioning rewrites the broker's files
    said = _said(result)
    refused = result.returncode == 2 and (
        f"registry rows with ids that are not {RULE}: gateways 'ingest:', gateways 'iotgw-admin:',"
        " broker_accounts 'iotgw-admin:'. Rename or delete them") in said
    unchanged = provisioned.broker_files() == files and provisioned.bundle_files() == []
    assert refused and unchanged, said

    env = dict(line.split("=", 1) for line in (provisioned.secrets / "secrets.env").read_text().splitlines())
    broker = Mosquitto(tmp_path / "mosquitto", auth_dir=provisioned.broker_dir)  # the lab broker: passwd, acl
    broker.start()
    try:
        admin = _answer(broker.port, "iotgw-admin", env["IOTGW_ADMIN_PASSWORD"])
        planted = _answer(broker.port, "iotgw-admin", ATTACKER)
        # What the planted account would have done had its line been written, as releases
        # before the rule wrote it: Mosquitto reads it as iotgw-admin, and it wins.
        passwd = provisioned.broker_dir / "passwd"
        passwd.write_text(passwd.read_text() + f"iotgw-admin::{mosquitto_hash(ATTACKER)}\n")
        broker.reload()
        premise = _answer_becomes(broker.port, "iotgw-admin", ATTACKER, "Success")
        admin_then = _answer(broker.port, "iotgw-admin", env["IOTGW_ADMIN_PASSWORD"])
    finally:
        broker.stop()
    ledger.refused("planted broker account 'iotgw-admin:' in the registry",
                   ok=admin == "Success" and planted == "Not authorized",
                   verdict="provision names table and id, writes nothing; admin logs in, planted"
                           " password refused")
    assert premise and admin_then == "Not authorized", "Mosquitto no longer reads 'user:' as 'user'"


_probes = itertools.count()


def _answer(port: int, user: str, password: str) -> str:
    probe = connect(port, f"probe-{next(_probes)}", user, password)
    probe.close()
    return probe.connect_reason


def _answer_becomes(port: int, user: str, password: str, reason: str, *, deadline_s: float = 10.0) -> bool:
    """Connect until the broker answers ``reason`` (it applies SIGHUP in its next loop)."""
    deadline = time.monotonic() + deadline_s
    while _answer(port, user, password) != reason:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
