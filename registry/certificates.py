"""The deployment's certificate authority and the certificates it issues (mutual TLS).

EC P-256 keys (small and fast on Raspberry-Pi-class gateways). The broker gets a server
certificate for the names gateways use to reach it; each gateway gets a client
certificate whose common name is its id, so Mosquitto can also take the id from it
(``use_identity_as_username``). Keys are readable by their owner only from their first
byte, and every file is replaced whole (``registry.atomic_files``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from iotgw.devices import TopicError, check_id
from iotgw.registry.atomic_files import write_file
from iotgw.registry.errors import RegistryError

CA_CERT, CA_KEY = "ca.crt", "ca.key"


@dataclass(frozen=True, slots=True)
class Issued:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "iotgw"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, data: bytes, *, private: bool) -> Path:
    """A new file renamed into place, 0600 from its creation; a certificate ends 0644."""
    return write_file(path, data, mode=0o600 if private else 0o644)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def create_ca(directory: Path, *, common_name: str = "iotgw CA", days: int = 3650) -> Issued:
    """Create the CA once; an existing one is kept (re-creating would orphan every cert)."""
    cert_path, key_path = directory / CA_CERT, directory / CA_KEY
    if cert_path.exists() and key_path.exists():
        return Issued(cert_path, key_path)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(common_name))
            .issuer_name(_name(common_name)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return Issued(_write(cert_path, cert.public_bytes(serialization.Encoding.PEM), private=False),
                  _write(key_path, _key_pem(key), private=True))


def issue(
    ca: Issued, common_name: str, directory: Path, *, server_names: list[str] | None = None,
    days: int = 825,
) -> Issued:
    """A certificate signed by the CA: a server's (with ``server_names``) or a client's. A
    client's common name is its broker account (``use_identity_as_username``), so it is an id.

    Raises:
        RegistryError: the CA cannot be loaded, or ``common_name`` is not an id.
    """
    try:
        check_id(common_name, "certificate name")
    except TopicError as exc:
        raise RegistryError(str(exc)) from exc
    try:
        ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
        ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot load the CA from {ca.cert.parent}: {exc}") from exc
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (x509.CertificateBuilder().subject_name(_name(common_name))
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if server_names:
        sans: list[x509.GeneralName] = []
        for name in server_names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                sans.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    # Not with_suffix: an id may hold a dot (gw-dt.001), which with_suffix would cut.
    return Issued(
        _write(directory / f"{common_name}.crt", cert.public_bytes(serialization.Encoding.PEM),
               private=False),
        _write(directory / f"{common_name}.key", _key_pem(key), private=True))
