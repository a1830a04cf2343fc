"""Provisioning against a real Mosquitto that uses the generated password and ACL files."""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from iotgw.devices.topics import ALLOWED
from iotgw.registry import (
    AccountRole,
    BrokerAccount,
    Device,
    Gateway,
    Organisation,
    OrgType,
    RegistryError,
    Sector,
)
from iotgw.registry.provisioning import (
    create_account,
    mosquitto_hash,
    mosquitto_usernames,
    render_acl,
    render_password_file,
    revoke_account,
    unsafe_ids,
    write_broker_files,
)
from sqlalchemy.orm import Session

from iotgw.processes import Mosquitto
from tests.faults import ledger
from tests.mqtt_probe import connect


def test_hash_is_what_mosquitto_passwd_writes() -> None:
    # `mosquitto_passwd -b pw alice secret` printed this line (Mosquitto 2.0.11).
    line = ("$7$101$Ni/K93sTTaVAUTb2$mkOvJVtHRu9jrhp4H1KWHYV9T3Wzjez9K2EmIuRRoLDM0HwQPlKzsD4F7o61+O"
            "qSj2VdLlvDXqBHjc/DUYp2vg==")
    assert mosquitto_hash("secret", salt=base64.b64decode("Ni/K93sTTaVAUTb2")) == line


def test_acl_gives_each_gateway_its_own_subtree(session: Session) -> None:
    create_account(session, "gw-a", AccountRole.GATEWAY)
    create_account(session, "ingest", AccountRole.INGEST)
    acl = render_acl(session)
    assert ("user gw-a\ntopic write iot/v1/gw-a/telemetry\ntopic write iot/v1/gw-a/status\n"
            "topic write iot/v1/gw-a/result/#\ntopic read iot/v1/gw-a/cmd/#\n"
            "topic read iot/v1/gw-a/stored\n") in acl
    assert ("user ingest\ntopic read iot/v1/+/telemetry\ntopic read iot/v1/+/status\n"
            "topic write iot/v1/+/stored\n") in acl


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    auth = tmp_path / "auth"
    auth.mkdir()
    (auth / "passwd").write_text("")
    (auth / "acl").write_text("")
    broker = Mosquitto(tmp_path / "mosquitto", auth_dir=auth)
    yield broker
    broker.stop()


@pytest.mark.integration
@pytest.mark.faults
def test_provisioned_gateways_are_confined_and_revocation_locks_out(
    session: Session, secured_broker: Mosquitto,
) -> None:
    passwords = {name: create_account(session, name, role) for name, role in [
        ("gw-a", AccountRole.GATEWAY), ("gw-b", AccountRole.GATEWAY),
        ("ingest", AccountRole.INGEST), ("operator", AccountRole.ADMIN)]}
    write_broker_files(session, secured_broker.auth_dir)
    secured_broker.start()
    port = secured_broker.port

    for fault, probe in (("anonymous broker connection", connect(port, "nobody")),
                         ("broker connection with a wrong password",
                          connect(port, "gw-a", "gw-a", "not-the-password"))):
        ledger.refused(fault, ok=probe.connect_reason == "Not authorized", verdict=probe.connect_reason)
        probe.close()

    ingest = connect(port, "ingest-1", "ingest", passwords["ingest"])
    assert ingest.connect_reason == "Success"
    assert ingest.subscribe("$share/ingest/iot/v1/+/telemetry") == "Granted QoS 1"

    gw_a = connect(port, "gw-a", "gw-a", passwords["gw-a"])
    assert gw_a.connect_reason == "Success"
    assert gw_a.publish("iot/v1/gw-a/telemetry", b"mine") == "Success"
    # Mosquitto refuses the publish and then drops the connection.
    spoofed = gw_a.publish("iot/v1/gw-b/telemetry", b"spoofed")
    ledger.refused("gateway publishes under another gateway's id", ok=spoofed == "Not authorized",
                   verdict=spoofed)
    gw_a.close()

    # Mosquitto grants any subscription and applies the read ACL to each message.
    gw_a = connect(port, "gw-a", "gw-a", passwords["gw-a"])
    gw_a.subscribe("iot/v1/+/cmd/#")
    operator = connect(port, "operator", "operator", passwords["operator"])
    assert operator.publish("iot/v1/gw-b/cmd/ping", b"for b") in {"Success", "No matching subscribers"}
    assert operator.publish("iot/v1/gw-a/cmd/ping", b"for a") == "Success"
    time.sleep(0.5)  # anything the broker let through would have arrived by now
    ledger.refused("gateway reads another gateway's commands",
                   ok=gw_a.messages == [("iot/v1/gw-a/cmd/ping", b"for a")], verdict="not delivered")
    assert ingest.messages == [("iot/v1/gw-a/telemetry", b"mine")]

    # Only ingest writes a gateway's ``stored`` (its word that readings are stored, on which
    # the gateway deletes them), and only that gateway reads it.
    gw_a.subscribe("iot/v1/+/stored")
    assert ingest.publish("iot/v1/gw-b/stored", b"for b") in {"Success", "No matching subscribers"}
    assert ingest.publish("iot/v1/gw-a/stored", b"for a") == "Success"
    time.sleep(0.5)
    ledger.refused("gateway reads another gateway's stored confirmations",
                   ok=gw_a.messages[1:] == [("iot/v1/gw-a/stored", b"for a")], verdict="not delivered")
    forged = gw_a.publish("iot/v1/gw-a/stored", b"forged")
    ledger.refused("gateway confirms its own readings stored (writes its stored topic)",
                   ok=forged != "Success", verdict=forged)
    for probe in (gw_a, ingest, operator):
        probe.close()

    revoke_account(session, "gw-b")
    write_broker_files(session, secured_broker.auth_dir)
    secured_broker.reload()
    ledger.refused("revoked gateway connects", ok=_answer_becomes(
        port, "gw-b", passwords["gw-b"], "Not authorized"), verdict="Not authorized")
    # Provisioning again gives a new password; the old one stays refused.
    new_password = create_account(session, "gw-b", AccountRole.GATEWAY)
    write_broker_files(session, secured_broker.auth_dir)
    secured_broker.reload()
    assert _answer_becomes(port, "gw-b", new_password, "Success")
    assert _answer_becomes(port, "gw-b", passwords["gw-b"], "Not authorized", deadline_s=0)


def _answer_becomes(port: int, user: str, password: str, reason: str, *,
                    deadline_s: float = 10.0) -> bool:
    """Connect until the broker answers ``reason`` (it applies SIGHUP in its next loop)."""
    deadline = time.monotonic() + deadline_s
    while True:
        probe = connect(port, f"{user}-probe", user, password)
        probe.close()
        if probe.connect_reason == reason:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def test_an_account_named_like_a_password_line_is_refused(session: Session) -> None:
    for hostile in ("iotgw-admin:", "ingest:", "gw-a\ningest", "gw/+"):
        with pytest.raises(RegistryError) as refused:
            create_account(session, hostile, AccountRole.GATEWAY)
        assert str(refused.value) == f"invalid broker account username {hostile!r}: {ALLOWED}"
    assert render_password_file(session) == ""


def test_mosquitto_reads_a_trailing_colon_as_the_same_user() -> None:
    """Why ':' is refused: the line of an account ``iotgw-admin:`` names ``iotgw-admin``."""
    text = "iotgw-admin:$7$101$a$b\niotgw-admin::$7$101$c$d\n# note: x\nno colon\n ingest :$7$1$e$f\n"
    assert mosquitto_usernames(text) == ["iotgw-admin", "iotgw-admin", "ingest"]


def _plant(session: Session) -> None:
    """Rows as an older release (':' allowed) or a hand edit left them: past every check."""
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    session.add_all([
        Gateway(id="iotgw-admin:", installed_on=now.date()),
        Device(id="urn:dev:ow:1", profile="soil_probe", sector=Sector.AGRICULTURE,
               expected_interval_s=60, installed_on=now.date()),
        Organisation(id="farm:1", name="Trại 1", type=OrgType.FARM, sector=Sector.AGRICULTURE),
        BrokerAccount(username="ingest:", role=AccountRole.GATEWAY, password_hash=mosquitto_hash("x"),
                      created_at=now),
        BrokerAccount(username="old:revoked", role=AccountRole.GATEWAY, password_hash=mosquitto_hash("x"),
                      created_at=now, revoked_at=now),  # in no file: not a reason to refuse
    ])
    session.flush()


def test_legacy_ids_in_the_registry_stop_provisioning_and_nothing_is_written(
    session: Session, tmp_path: Path,
) -> None:
    create_account(session, "iotgw-admin", AccountRole.ADMIN)
    create_account(session, "ingest", AccountRole.INGEST)
    written = write_broker_files(session, tmp_path / "broker")
    before = {path: path.read_bytes() for path in written}
    _plant(session)
    assert unsafe_ids(session) == ["gateways 'iotgw-admin:'", "devices 'urn:dev:ow:1'",
                                   "organisations 'farm:1'", "broker_accounts 'ingest:'"]
    with pytest.raises(RegistryError) as refused:
        write_broker_files(session, tmp_path / "broker")
    assert str(refused.value) == (
        "registry rows with ids that are not 1-64 characters of letters, digits, '_', '.', '-',"
        " starting with a letter or digit: gateways 'iotgw-admin:', devices 'urn:dev:ow:1',"
        " organisations 'farm:1', broker_accounts 'ingest:'. Rename or delete them (':' was"
        " allowed before); nothing written")
    assert {path: path.read_bytes() for path in written} == before
    assert sorted((tmp_path / "broker").iterdir()) == sorted(written)  # no temporary file either
    with pytest.raises(RegistryError, match="invalid broker account username 'ingest:'"):
        render_password_file(session)


def test_a_planted_hash_cannot_add_a_line(session: Session, tmp_path: Path) -> None:
    session.add(BrokerAccount(username="gw-x", role=AccountRole.GATEWAY, created_at=dt.datetime.now(dt.UTC),
                              password_hash="$7$101$c2FsdA==$aGFzaA==\niotgw-admin:$7$101$eQ==$eQ=="))
    session.flush()
    with pytest.raises(RegistryError, match="'gw-x' has no \\$7\\$ password hash"):
        write_broker_files(session, tmp_path / "broker")
    assert not (tmp_path / "broker").exists()
