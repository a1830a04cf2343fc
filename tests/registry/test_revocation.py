"""The CA's revocation list as the registry makes it (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

from cryptography import x509
from iotgw.registry import AccountRole
from iotgw.registry.certificates import create_ca, issue
from iotgw.registry.provisioning import create_account
from iotgw.registry.revocation import (
    CRL_MODE,
    record_certificate,
    render_crl,
    revoke_certificates,
    serial_hex,
    write_crl,
)
from sqlalchemy.orm import Session


def _crl(data: bytes) -> x509.CertificateRevocationList:
    return x509.load_pem_x509_crl(data)


def test_the_crl_lists_every_revoked_certificate_until_it_expires(
        session: Session, tmp_path: Path) -> None:
    ca = create_ca(tmp_path / "ca")
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    create_account(session, "gw-r1", AccountRole.GATEWAY)
    first = record_certificate(session, "gw-r1", issue(ca, "gw-r1", tmp_path / "one").cert)
    second = record_certificate(session, "gw-r1", issue(ca, "gw-r1", tmp_path / "two").cert)
    empty = _crl(render_crl(session, ca))
    assert len(empty) == 0 and empty.is_signature_valid(ca_cert.public_key())
    # OpenSSL refuses every client once the CRL it holds is past next_update.
    assert empty.next_update_utc == ca_cert.not_valid_after_utc

    revoked = revoke_certificates(session, "gw-r1")
    assert sorted(revoked) == sorted([first.serial, second.serial])
    assert revoke_certificates(session, "gw-r1") == []  # already revoked: nothing new
    listed = _crl(render_crl(session, ca))
    assert {serial_hex(r.serial_number) for r in listed} == {first.serial, second.serial}
    assert listed.issuer == ca_cert.subject

    # An expired certificate is refused by its dates alone: the list no longer carries it.
    after_first_expires = first.expires_at + dt.timedelta(seconds=1)
    second.expires_at = after_first_expires + dt.timedelta(days=1)
    session.flush()
    later = _crl(render_crl(session, ca, now=after_first_expires))
    assert {serial_hex(r.serial_number) for r in later} == {second.serial}


def test_the_crl_file_is_replaced_whole_and_readable_by_the_broker(
        session: Session, tmp_path: Path) -> None:
    ca = create_ca(tmp_path / "ca")
    path = tmp_path / "broker" / "tls" / "ca.crl"
    path.parent.mkdir(parents=True)
    path.write_text("an older list")
    write_crl(session, ca, path)
    assert stat.S_IMODE(path.stat().st_mode) == CRL_MODE == 0o644
    assert len(_crl(path.read_bytes())) == 0
    assert [p.name for p in path.parent.iterdir()] == ["ca.crl"]  # no temporary file left
