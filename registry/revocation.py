"""Client certificates the CA issued, and the revocation list (CRL) the broker loads.

Mosquitto's gateway listener (``deploy/mosquitto/mosquitto.conf``) takes a gateway's
account from its certificate's common name and checks no password, so revoking the
account (its ACL entries go) stops what the certificate may do, and the CRL stops the
certificate itself: Mosquitto 2.0.11 builds the listener's TLS context again on SIGHUP,
reading ``crlfile`` afresh, and from then on refuses the TLS handshake of a listed
certificate ("certificate revoked"). Connections already open stay open (with no ACL
rights left).

The CRL is made whole from the registry each time: every revoked serial not yet expired
(an expired certificate is refused anyway), signed by the CA. ``next_update`` is the CA's
own expiry: with ``crlfile`` set, OpenSSL refuses every client once the CRL it has is
past its ``next_update``, and nothing signed by the CA outlives the CA.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from iotgw.registry.atomic_files import write_file
from iotgw.registry.certificates import Issued
from iotgw.registry.errors import RegistryError
from iotgw.registry.models import ClientCertificate
from sqlalchemy import select
from sqlalchemy.orm import Session

CRL_FILE = "ca.crl"
CRL_MODE = 0o644  # a CRL is public: it names serials, not secrets


def serial_hex(serial: int) -> str:
    """A serial as the registry keeps it: lowercase hex without leading zeros."""
    return format(serial, "x")


def record_certificate(session: Session, username: str, cert_path: Path) -> ClientCertificate:
    """Record a certificate just issued to ``username`` (its serial and expiry).

    Raises:
        RegistryError: the file is not a PEM certificate.
    """
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot read the certificate {cert_path}: {exc}") from exc
    row = ClientCertificate(serial=serial_hex(cert.serial_number), username=username,
                            issued_at=cert.not_valid_before_utc, expires_at=cert.not_valid_after_utc)
    session.add(row)
    session.flush()
    return row


def revoke_certificates(session: Session, username: str, *,
                        at: dt.datetime | None = None) -> list[str]:
    """Mark every unrevoked certificate of ``username`` revoked; returns their serials."""
    when = at or dt.datetime.now(dt.UTC)
    rows = list(session.scalars(select(ClientCertificate).where(
        ClientCertificate.username == username, ClientCertificate.revoked_at.is_(None))
        .order_by(ClientCertificate.issued_at)))
    for row in rows:
        row.revoked_at = when
    session.flush()
    return [row.serial for row in rows]


def _load_ca(ca: Issued) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
        key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot load the CA from {ca.cert.parent}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise RegistryError(f"the CA key in {ca.key} is not an EC key")
    return cert, key


def render_crl(session: Session, ca: Issued, *, now: dt.datetime | None = None) -> bytes:
    """The CA's CRL (PEM) listing every revoked certificate that has not expired.

    Raises:
        RegistryError: the CA cannot be loaded.
    """
    ca_cert, ca_key = _load_ca(ca)
    now = now or dt.datetime.now(dt.UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(now).next_update(ca_cert.not_valid_after_utc))
    revoked = session.scalars(select(ClientCertificate).where(
        ClientCertificate.revoked_at.is_not(None), ClientCertificate.expires_at > now)
        .order_by(ClientCertificate.serial))
    for row in revoked:
        assert row.revoked_at is not None
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(int(row.serial, 16))
            .revocation_date(row.revoked_at).build())
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def write_crl(session: Session, ca: Issued, path: Path) -> Path:
    """Replace the CRL at ``path`` whole (a reader sees the old list or the new one).

    Raises:
        RegistryError: the CA cannot be loaded.
        OSError: the directory cannot be written; the old file is then unchanged.
    """
    return write_file(path, render_crl(session, ca), mode=CRL_MODE)
