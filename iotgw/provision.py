"""``iotgw provision``: broker accounts and files from the registry, gateway bundles, and
the services' InfluxDB accounts.

The registry holds only password hashes; each password is shown once, in the file this
command writes for whoever needs it (``secrets.env`` for the central services, a lab
gateway's ``gateway.toml``), readable by the owner only.

A gateway gets a client certificate by default and its bundle connects with mutual TLS
to port 8883, where the broker takes the gateway's account and client id from the
certificate (``deploy/mosquitto/mosquitto.conf``); its bundle carries no password, since
none is checked there. ``--no-cert`` makes a password-only bundle for a lab broker, and
says what that gives up. Gateway ids may not start with ``iotgw-``: the central services'
client ids do, so no gateway can take one. ``revoke`` also revokes the gateway's
certificates: the CA's revocation list (``tls/ca.crl``) is rewritten with them.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from iotgw.devices import TopicError, check_gateway_id
from iotgw.devices.links import TlsConfig
from iotgw.gateway import DeviceConfig, GatewayConfig
from iotgw.gateway.config import BrokerConfig, BufferConfig
from iotgw.options import DEFAULT_REGISTRY, EXIT_CONFIG, EXIT_RUNTIME, RegistryUrl, console, fail
from iotgw.registry import (
    AccountRole,
    BrokerAccount,
    Gateway,
    NotFound,
    RegistryError,
    make_engine,
    session_factory,
)
from iotgw.registry.atomic_files import write_file
from iotgw.registry.certificates import CA_CERT, CA_KEY, Issued, create_ca, issue
from iotgw.registry.placements import devices_on_gateway
from iotgw.registry.provisioning import create_account, revoke_account, write_broker_files
from iotgw.registry.revocation import CRL_FILE, record_certificate, revoke_certificates, write_crl
from iotgw.simulators.fleet import config_text
from iotgw.tsdb import TsdbError
from iotgw.tsdb.client import InfluxClient
from iotgw.tsdb.grants import Account, Privilege, apply_accounts
from iotgw.wheelhouse import WheelhouseError, add_to_bundle, check

app = typer.Typer(help="Broker accounts, ACL and gateway configuration bundles.",
                  no_args_is_help=True)
BrokerDir = Annotated[Path, typer.Option(
    help="Where the broker's passwd and acl files go (Mosquitto reads them on SIGHUP).")]
OutDir = Annotated[Path, typer.Option(help="Where credentials and bundles are written.")]
CaDir = Annotated[Path, typer.Option(help="The CA made by `provision init`.")]

TLS_PORT, PLAIN_PORT = 8883, 1883


def _session(url: str) -> Session:
    return session_factory(make_engine(url))()


def _ca(ca_dir: Path) -> Issued | None:
    ca = Issued(ca_dir / CA_CERT, ca_dir / CA_KEY)
    return ca if ca.cert.exists() and ca.key.exists() else None


def _write_broker(session: Session, broker_dir: Path, ca: Issued | None) -> list[Path]:
    """The broker's password and ACL files, and the CA's revocation list when the CA is
    at hand (the gateways' listener refuses to start without one)."""
    files = write_broker_files(session, broker_dir)
    if ca is not None:
        files.append(write_crl(session, ca, broker_dir / "tls" / CRL_FILE))
    return files


# Secrets of the central services that are not broker accounts, generated once by
# `provision init` and kept in secrets.env: the compose deployment reads them from there
# and has no default for any of them. The InfluxDB image creates the admin on first start;
# `provision influx` creates the services' accounts (INFLUXDB_READ_USER is Grafana's).
SERVICE_SECRETS: dict[str, str | None] = {
    "INFLUXDB_ADMIN_USER": "iotgw",
    "INFLUXDB_ADMIN_PASSWORD": None,
    "INFLUXDB_READ_USER": "grafana",
    "INFLUXDB_READ_USER_PASSWORD": None,
    "IOTGW_INFLUX_INGEST_USER": "iotgw-ingest",
    "IOTGW_INFLUX_INGEST_PASSWORD": None,
    "IOTGW_INFLUX_ROLLUP_USER": "iotgw-rollup",
    "IOTGW_INFLUX_ROLLUP_PASSWORD": None,
    "IOTGW_INFLUX_API_USER": "iotgw-api",
    "IOTGW_INFLUX_API_PASSWORD": None,
    "GF_SECURITY_ADMIN_PASSWORD": None,
}

# Each service's InfluxDB account (the environment variables of its name and password) and
# its privilege on the main and on the personal database (household meters' readings):
# ingest only writes; the rollup reads readings and writes aggregates in both; the API reads
# both and writes platform use in the main one; Grafana reads the main one, and nothing
# personal. InfluxDB 1.x has no finer grant than these per database.
INFLUX_ACCOUNTS: dict[str, tuple[str, str, Privilege | None, Privilege | None]] = {
    "ingest": ("IOTGW_INFLUX_INGEST_USER", "IOTGW_INFLUX_INGEST_PASSWORD", "WRITE", "WRITE"),
    "rollup": ("IOTGW_INFLUX_ROLLUP_USER", "IOTGW_INFLUX_ROLLUP_PASSWORD", "ALL", "ALL"),
    "api": ("IOTGW_INFLUX_API_USER", "IOTGW_INFLUX_API_PASSWORD", "ALL", "READ"),
    "grafana": ("INFLUXDB_READ_USER", "INFLUXDB_READ_USER_PASSWORD", "READ", None),
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
    try:
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
            files = _write_broker(session, broker_dir, ca)
    except RegistryError as exc:  # e.g. rows with ids of the earlier, wider rule
        raise fail(exc, EXIT_CONFIG) from exc
    for key, value in SERVICE_SECRETS.items():
        if key not in env:
            env[key] = value or secrets.token_urlsafe(24)
            added += 1
    if added:
        write_file(env_path, "".join(f"{key}={value}\n" for key, value in env.items()))
        console.print(f"new credentials in {env_path} (shown nowhere else)")
    console.print(f"broker files: {', '.join(map(str, files))}; reload the broker (SIGHUP)")


@app.command("gateway")
def provision_gateway(
    gateway_id: Annotated[str, typer.Argument(help="A gateway registered in the registry.")],
    url: RegistryUrl = DEFAULT_REGISTRY, broker_dir: BrokerDir = Path("broker"),
    out: OutDir = Path("bundles"),
    broker_host: Annotated[str, typer.Option(help="The broker as the gateway reaches it.")] = "127.0.0.1",
    broker_port: Annotated[int | None, typer.Option(
        min=1, max=65535, help=f"Default {TLS_PORT} (mutual TLS), {PLAIN_PORT} with --no-cert.",
        show_default=False)] = None,
    driver: Annotated[str, typer.Option(help="Driver for the registered devices.")] = "simulated",
    cert: Annotated[bool, typer.Option(
        help="Issue a client certificate (mutual TLS); --no-cert only for a lab broker.")] = True,
    ca_dir: CaDir = Path("secrets/ca"),
    buffer_path: Annotated[Path, typer.Option(help="The buffer's path on the gateway.")] = Path(
        "/var/lib/iotgw/buffer.sqlite"),
    wheelhouse: Annotated[Path | None, typer.Option(
        help="Put this wheelhouse (`make wheelhouse`) and install.sh in the bundle: the gateway"
             " then installs iotgw offline.")] = None,
) -> None:
    """Give a registered gateway broker credentials, ACL entries and a configuration bundle."""
    try:
        check_gateway_id(gateway_id)
        platforms = check(wheelhouse) if wheelhouse is not None else []
        _check_driver(driver)
    except (TopicError, WheelhouseError, ValueError) as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    ca = _ca(ca_dir)
    if cert and ca is None:
        raise fail(RegistryError(f"no CA in {ca_dir}: run `iotgw provision init` first"),
                   EXIT_CONFIG)
    port = broker_port or (TLS_PORT if cert else PLAIN_PORT)
    bundle_dir = out / gateway_id
    issued: Issued | None = None
    try:
        with _session(url) as session, session.begin():
            if session.get(Gateway, gateway_id) is None:
                raise NotFound("gateway", gateway_id)
            devices = devices_on_gateway(session, gateway_id)
            if not devices:
                raise RegistryError(f"gateway {gateway_id!r} has no devices placed on it")
            password = create_account(session, gateway_id, AccountRole.GATEWAY)
            if cert:
                assert ca is not None
                issued = issue(ca, gateway_id, bundle_dir)
                record_certificate(session, gateway_id, issued.cert)
            _write_broker(session, broker_dir, ca)
    except BaseException as exc:
        if issued is not None:  # a certificate the registry does not know could not be revoked
            issued.cert.unlink(missing_ok=True)
            issued.key.unlink(missing_ok=True)
        if isinstance(exc, RegistryError):
            raise fail(exc, EXIT_CONFIG) from exc
        raise
    tls = None
    if issued is not None and ca is not None:
        shutil.copyfile(ca.cert, bundle_dir / CA_CERT)
        # Relative to gateway.toml: the bundle can be copied anywhere as a whole.
        tls = TlsConfig(ca_file=Path(CA_CERT), cert_file=Path(issued.cert.name),
                        key_file=Path(issued.key.name))
    config = GatewayConfig(
        gateway_id=gateway_id,
        # With a certificate the broker checks no password: the bundle carries none.
        broker=BrokerConfig(host=broker_host, port=port, username=gateway_id,
                            password=None if cert else password, tls=tls),
        buffer=BufferConfig(path=buffer_path),
        devices=[DeviceConfig(id=device.id, driver=driver, profile=device.profile,
                              interval_s=device.expected_interval_s) for device, _ in devices],
    )
    bundle = write_file(bundle_dir / "gateway.toml", config_text(config))
    _warn_weaker(cert, port)
    console.print(f"bundle for {gateway_id} ({len(devices)} devices): {bundle}; reload the broker")
    if wheelhouse is not None:
        script = add_to_bundle(wheelhouse, bundle_dir)
        console.print(f"offline install for {', '.join(platforms)}: {script}"
                      " (copy the bundle to the gateway, run it there as root)", highlight=False)


def _check_driver(driver: str) -> None:
    """Before any credential is made: the registry knows a device's profile and interval,
    not how to reach it, so only a driver that needs nothing more can be written for it.

    Raises: ValueError naming the driver and what to do instead.
    """
    try:
        DeviceConfig(id="probe", driver=driver, profile="soil_probe", interval_s=60)
    except ValidationError as exc:
        missing = ".".join(str(part) for part in exc.errors()[0]["loc"])
        raise ValueError(
            f"--driver {driver}: each device needs its [devices.{missing}] settings; the registry "
            "does not know how to reach "
            "the devices (address, map): provision with --driver simulated or mqtt_node, then "
            "edit the bundle's gateway.toml (`iotgw gateway check-config --config` checks it)") from None


def _warn_weaker(cert: bool, port: int) -> None:
    """Say what a bundle gives up against the deployed broker (mosquitto.conf)."""
    if not cert:
        console.print(
            "[yellow]warning:[/yellow] no client certificate: this bundle logs in with a password"
            f" over plain MQTT (port {port}), which anyone on the path can read, and nothing"
            " ties its client id to its account. The deployed broker refuses it (its gateway"
            f" listener, {TLS_PORT}, takes certificates only; its plain listener the central"
            " services only): it is for a lab broker.", highlight=False)
    elif port == PLAIN_PORT:
        console.print(
            f"[yellow]warning:[/yellow] port {PLAIN_PORT} is the central services' plain"
            f" listener as deployed; gateways' mutual TLS is on {TLS_PORT}.", highlight=False)


@app.command("revoke")
def provision_revoke(
    gateway_id: Annotated[str, typer.Argument(help="The broker account to revoke.")],
    url: RegistryUrl = DEFAULT_REGISTRY, broker_dir: BrokerDir = Path("broker"),
    ca_dir: CaDir = Path("secrets/ca"),
) -> None:
    """Revoke a gateway's broker account and its certificates; rewrite the broker's files
    and the CA's revocation list."""
    ca = _ca(ca_dir)
    try:
        with _session(url) as session, session.begin():
            revoke_account(session, gateway_id)
            serials = revoke_certificates(session, gateway_id)
            if serials and ca is None:
                raise RegistryError(f"no CA in {ca_dir} to sign the revocation list that must list"
                                    f" {gateway_id}'s certificate; nothing changed (--ca-dir)")
            _write_broker(session, broker_dir, ca)
    except RegistryError as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    listed = (f"; certificate serial {', '.join(serials)} added to"
              f" {broker_dir / 'tls' / CRL_FILE}" if serials else "")
    console.print(
        f"{gateway_id} revoked: removed from the broker's password and ACL files{listed}."
        " Reload the broker (SIGHUP): it then lets the gateway publish and read nothing, and"
        " refuses its certificate at every new TLS connection (Mosquitto 2.0 re-reads the"
        " revocation list on SIGHUP; a connection already open stays open, with no rights).",
        highlight=False)


def _environment(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise fail(ValueError(f"environment variable {name} is not set (secrets.env, written"
                              " by `iotgw provision init`)"), EXIT_CONFIG)
    return value


@app.command("influx")
def provision_influx(
    influx_url: Annotated[str, typer.Option("--url", help="InfluxDB's HTTP API.")] = "http://127.0.0.1:8086",
    database: Annotated[str, typer.Option(help="The main database; its personal one is"
                                               " named after it.")] = "iotgw",
    raw_retention: Annotated[str, typer.Option(
        envvar="IOTGW_RAW_RETENTION", help="InfluxQL duration of the raw readings' retention.")] = "INF",
) -> None:
    """Create the databases (main and personal), the services' InfluxDB accounts and their
    grants, logged in as the admin. Every name and password comes from the environment
    (INFLUXDB_ADMIN_USER, INFLUXDB_ADMIN_PASSWORD and the services' in secrets.env), none
    from the command line. Run again, it sets the same passwords and grants."""
    admin = (_environment("INFLUXDB_ADMIN_USER"), _environment("INFLUXDB_ADMIN_PASSWORD"))
    accounts = [Account(_environment(user), _environment(password), main, personal)
                for user, password, main, personal in INFLUX_ACCOUNTS.values()]
    try:
        with InfluxClient(influx_url, auth=admin) as influx:
            apply_accounts(influx, database, accounts, raw_retention=raw_retention)
    except TsdbError as exc:
        raise fail(exc, EXIT_RUNTIME) from exc
    for service, account in zip(INFLUX_ACCOUNTS, accounts, strict=True):
        console.print(f"{service}: InfluxDB account {account.user}, {account.main or 'no grant'} on"
                      f" {database}, {account.personal or 'no grant'} on its personal database",
                      highlight=False)
