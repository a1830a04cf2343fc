"""Provisioning against a real Mosquitto that uses the generated password and ACL files."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from iotgw.localstack import Mosquitto
from registry import AccountRole
from registry.provisioning import (
    create_account,
    mosquitto_hash,
    render_acl,
    revoke_account,
    write_broker_files,
)
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
    assert "user gw-a\ntopic write iot/v1/gw-a/#\ntopic read iot/v1/gw-a/cmd/#\n" in acl
    assert "user ingest\ntopic read iot/v1/+/telemetry\ntopic read iot/v1/+/status\n" in acl


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
