"""``iotgw provision``: broker accounts and files from the registry, gateway bundles.

The registry holds only password hashes; each password is shown once, in the file this
command writes for whoever needs it (``secrets.env`` for the central services, the
gateway's ``gateway.toml``), readable by the owner only.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from gateway import DeviceConfig, GatewayConfig
from gateway.config import BrokerConfig, BufferConfig, TlsConfig
from iotgw.options import DEFAULT_REGISTRY, EXIT_CONFIG, RegistryUrl, console, fail
from registry import (
    AccountRole,
    BrokerAccount,
    Gateway,
    NotFound,
    RegistryError,
    make_engine,
    session_factory,
)
from registry.certificates import CA_CERT, CA_KEY, Issued, create_ca, issue
from registry.placements import devices_on_gateway
from registry.provisioning import create_account, revoke_account, write_broker_files
from simulators import write_config

app = typer.Typer(help="Broker accounts, ACL and gateway configuration bundles.",
                  no_args_is_help=True)
BrokerDir = Annotated[Path, typer.Option(
    help="Where the broker's passwd and acl files go (Mosquitto reads them on SIGHUP).")]
OutDir = Annotated[Path, typer.Option(help="Where credentials and bundles are written.")]


def _private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)
    return path


def _session(url: str) -> Session:
    return session_factory(make_engine(url))()


# Secrets of the central services that are not broker accounts, generated once by
# `provision init` and kept in secrets.env: the compose deployment reads them from there
# and has no default for any of them. The InfluxDB image creates these users on first start.
SERVICE_SECRETS: dict[str, str | None] = {
    "INFLUXDB_ADMIN_USER": "iotgw",
    "INFLUXDB_ADMIN_PASSWORD": None,
    "INFLUXDB_READ_USER": "grafana",
    "INFLUXDB_READ_USER_PASSWORD": None,
    "GF_SECURITY_ADMIN_PASSWORD": None,
}


def _read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@app.command("init")
def provision_init(
    url: RegistryUrl = DEFAULT_REGISTRY, broker_dir: BrokerDir = Path("broker"),
    out: OutDir = Path("secrets"),
    broker_name: Annotated[list[str] | None, typer.Option(
        help="A name or address gateways use for the broker (repeat); goes in its certificate.",
    )] = None,
) -> None:
    """Create the CA, the broker's certificate, the operators' and ingest's broker accounts,
    the database and Grafana passwords (secrets.env), and write the broker's files.
    Run again, it keeps what exists."""
    ca = create_ca(out / "ca")
    tls_dir = broker_dir / "tls"
    if not (tls_dir / "broker.crt").exists():
        issue(ca, "broker", tls_dir, server_names=broker_name or ["localhost", "127.0.0.1"])
    shutil.copyfile(ca.cert, tls_dir / CA_CERT)
    env_path = out / "secrets.env"
    env = _read_env(env_path)
    added = 0
    with _session(url) as session, session.begin():
        for username, role in (("iotgw-admin", AccountRole.ADMIN), ("ingest", AccountRole.INGEST)):
            existing = session.get(BrokerAccount, username)
            if existing is not None and existing.revoked_at is None:
                console.print(f"{username}: exists, password unchanged")
                continue
            prefix = f"IOTGW_{role.value.upper()}"
            env[f"{prefix}_USERNAME"] = username
            env[f"{prefix}_PASSWORD"] = create_account(session, username, role)
            added += 1
        passwd, acl = write_broker_files(session, broker_dir)
    for key, value in SERVICE_SECRETS.items():
        if key not in env:
            env[key] = value or secrets.token_urlsafe(24)
            added += 1
    if added:
        _private(env_path, "".join(f"{key}={value}\n" for key, value in env.items()))
        console.print(f"new credentials in {env_path} (shown nowhere else)")
    console.print(f"broker files: {passwd}, {acl}; reload the broker (SIGHUP)")


@app.command("gateway")
def provision_gateway(
    gateway_id: Annotated[str, typer.Argument(help="A gateway registered in the registry.")],
    url: RegistryUrl = DEFAULT_REGISTRY, broker_dir: BrokerDir = Path("broker"),
    out: OutDir = Path("bundles"),
    broker_host: Annotated[str, typer.Option(help="The broker as the gateway reaches it.")] = "127.0.0.1",
    broker_port: Annotated[int, typer.Option(min=1, max=65535)] = 1883,
    driver: Annotated[str, typer.Option(help="Driver for the registered devices.")] = "simulated",
    cert: Annotated[bool, typer.Option(help="Issue a client certificate (mutual TLS).")] = False,
    ca_dir: Annotated[Path, typer.Option(help="The CA made by `provision init`.")] = Path(
        "secrets/ca"),
    buffer_path: Annotated[Path, typer.Option(help="The buffer's path on the gateway.")] = Path(
        "/var/lib/iotgw/buffer.sqlite"),
) -> None:
    """Give a registered gateway broker credentials, ACL entries and a configuration bundle."""
    ca = Issued(ca_dir / CA_CERT, ca_dir / CA_KEY)
    if cert and not (ca.cert.exists() and ca.key.exists()):
        raise fail(RegistryError(f"no CA in {ca_dir}: run `iotgw provision init` first"),
                   EXIT_CONFIG)
    try:
        with _session(url) as session, session.begin():
            if session.get(Gateway, gateway_id) is None:
                raise NotFound("gateway", gateway_id)
            devices = devices_on_gateway(session, gateway_id)
            if not devices:
                raise RegistryError(f"gateway {gateway_id!r} has no devices placed on it")
            password = create_account(session, gateway_id, AccountRole.GATEWAY)
            write_broker_files(session, broker_dir)
    except RegistryError as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    bundle_dir = out / gateway_id
    tls = None
    if cert:
        try:
            issued = issue(ca, gateway_id, bundle_dir)
        except RegistryError as exc:
            raise fail(exc, EXIT_CONFIG) from exc
        shutil.copyfile(ca.cert, bundle_dir / CA_CERT)
        # Relative to gateway.toml: the bundle can be copied anywhere as a whole.
        tls = TlsConfig(ca_file=Path(CA_CERT), cert_file=Path(issued.cert.name),
                        key_file=Path(issued.key.name))
    config = GatewayConfig(
        gateway_id=gateway_id,
        broker=BrokerConfig(host=broker_host, port=broker_port, username=gateway_id,
                            password=password, tls=tls),
        buffer=BufferConfig(path=buffer_path),
        devices=[DeviceConfig(id=device.id, driver=driver, profile=device.profile,
                              interval_s=device.expected_interval_s) for device, _ in devices],
    )
    bundle = _private(bundle_dir / "gateway.toml", "")
    write_config(config, bundle)
    console.print(f"bundle for {gateway_id} ({len(devices)} devices): {bundle}; reload the broker")


@app.command("revoke")
def provision_revoke(
    gateway_id: Annotated[str, typer.Argument(help="The broker account to revoke.")],
    url: RegistryUrl = DEFAULT_REGISTRY, broker_dir: BrokerDir = Path("broker"),
) -> None:
    """Revoke a gateway's broker account and rewrite the broker's files."""
    try:
        with _session(url) as session, session.begin():
            revoke_account(session, gateway_id)
            write_broker_files(session, broker_dir)
    except RegistryError as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    console.print(f"{gateway_id} revoked; reload the broker (SIGHUP) to refuse it")
