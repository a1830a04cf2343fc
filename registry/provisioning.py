"""Broker credentials and ACL, generated from the registry for Mosquitto.

Passwords are hashed as ``mosquitto_passwd`` does in Mosquitto 2.0 (``$7$``: PBKDF2-HMAC-
SHA512, 101 iterations, 12-byte salt), so the password file needs no Mosquitto tool. The
ACL gives each gateway its own subtree, as DESIGN.md's wire contract says: write its
telemetry, status and command results under ``iot/v1/<id>/``, read only its ``cmd/`` and
its ``stored`` (which only ingest's account may write). Both files are rewritten whole from the
registry (atomically, by rename) on every change; Mosquitto reads them again on SIGHUP.

A username is written unescaped into ``user:hash`` lines and ACL rules, so it must be an
id (``devices.topics.ID_PATTERN``): Mosquitto splits a password line at ``:``, and reads
``iotgw-admin::$7$...`` as a second ``iotgw-admin`` whose password wins. Nothing is written
while any registry row breaks that rule (rows from before ``:`` was refused, or written
past the import checks): ``unsafe_ids`` names them, by table and id. The password file is
also read back as Mosquitto reads it and refused unless it names each account once.

Both files are created 0600 and end 0640 (``registry.atomic_files``): the group bit is for
a broker that runs as another user (the compose deployment's ``mosquitto``, uid 1883)
and reads them through a shared group; nobody else may read the hashes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import secrets
from collections.abc import Collection
from pathlib import Path

from iotgw.devices import TopicError, check_id
from iotgw.devices.topics import ALLOWED, is_id
from iotgw.registry.atomic_files import write_file
from iotgw.registry.errors import NotFound, RegistryError
from iotgw.registry.models import AccountRole, BrokerAccount, Device, Gateway, Organisation
from sqlalchemy import select
from sqlalchemy.orm import Session

PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default
PASSWORD_FILE = "passwd"
ACL_FILE = "acl"
SERVICES_PASSWORD_FILE = "services.passwd"
SERVICES_ACL_FILE = "services.acl"
GATEWAYS_ACL_FILE = "gateways.acl"
BROKER_FILE_MODE = 0o640
_HASH = re.compile(r"\$7\$[0-9]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")  # what mosquitto_hash makes


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return (f"$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}"
            f"${base64.b64encode(digest).decode()}")


def create_account(session: Session, username: str, role: AccountRole) -> str:
    """Make an account with a fresh random password, returned once and never stored.

    Raises:
        RegistryError: ``username`` is not an id, or is an active account.
    """
    try:
        check_id(username, "broker account username")
    except TopicError as exc:
        raise RegistryError(str(exc)) from None
    existing = session.get(BrokerAccount, username)
    if existing is not None and existing.revoked_at is None:
        raise RegistryError(f"broker account {username!r} exists; revoke it first")
    password = secrets.token_urlsafe(24)
    account = existing or BrokerAccount(username=username, role=role)
    account.role = role
    account.password_hash = mosquitto_hash(password)
    account.created_at = dt.datetime.now(dt.UTC)
    account.revoked_at = None
    session.add(account)
    session.flush()
    return password


def revoke_account(session: Session, username: str) -> None:
    account = session.get(BrokerAccount, username)
    if account is None:
        raise NotFound("broker account", username)
    if account.revoked_at is None:
        account.revoked_at = dt.datetime.now(dt.UTC)
        session.flush()


def _active(session: Session, roles: Collection[AccountRole] | None = None) -> list[BrokerAccount]:
    query = select(BrokerAccount).where(BrokerAccount.revoked_at.is_(None))
    if roles is not None:
        query = query.where(BrokerAccount.role.in_(list(roles)))
    return list(session.scalars(query.order_by(BrokerAccount.username)))


def unsafe_ids(session: Session) -> list[str]:
    """``<table> '<id>'`` of every gateway, device, organisation and active broker account
    whose id breaks ``ID_PATTERN`` (a revoked account is in no file). Reads every id: a
    fraction of a second for a province's hundred thousand devices."""
    active = BrokerAccount.revoked_at.is_(None)
    found = []
    for table, query in ((Gateway.__tablename__, select(Gateway.id).order_by(Gateway.id)),
                         (Device.__tablename__, select(Device.id).order_by(Device.id)),
                         (Organisation.__tablename__, select(Organisation.id).order_by(Organisation.id)),
                         (BrokerAccount.__tablename__, select(BrokerAccount.username).where(active)
                          .order_by(BrokerAccount.username))):
        found += [f"{table} {value!r}" for value in session.scalars(query) if not is_id(value)]
    return found


def mosquitto_usernames(text: str) -> list[str]:
    """The usernames Mosquitto 2.0 reads from a password file, in order (its
    ``pwfile__parse``): lines starting with ``#`` or without ``:`` are skipped, and the
    name is the first run between colons, blanks trimmed."""
    names = []
    for line in text.split("\n"):
        if line.startswith("#") or ":" not in line:
            continue
        name = line.lstrip(":").split(":", 1)[0].strip()
        if name:
            names.append(name)
    return names


def render_password_file(session: Session, roles: Collection[AccountRole] | None = None) -> str:
    """One ``user:hash`` line per active account (of ``roles``, if given).

    Raises:
        RegistryError: a username that is not an id or a hash that is not ``$7$``, or the
            file, read as Mosquitto reads it, would name an account twice or one not in
            the registry.
    """
    accounts = _active(session, roles)
    for account in accounts:
        try:
            check_id(account.username, "broker account username")
        except TopicError as exc:
            raise RegistryError(f"{exc}; nothing written") from None
        if not _HASH.fullmatch(account.password_hash):
            raise RegistryError(f"broker account {account.username!r} has no $7$ password hash;"
                                " provision it again; nothing written")
    text = "".join(f"{a.username}:{a.password_hash}\n" for a in accounts)
    read = mosquitto_usernames(text)
    if read != [a.username for a in accounts]:
        twice = sorted({name for name in read if read.count(name) > 1}) or read
        raise RegistryError(f"the password file would name {', '.join(map(repr, twice))} twice"
                            " or otherwise than the registry does; nothing written")
    return text


_RULES = {
    # A gateway writes its telemetry, status and command results, never its own ``stored``
    # (ingest's word that its readings are stored, on which it deletes them), which it reads.
    AccountRole.GATEWAY: ("topic write iot/v1/{user}/telemetry", "topic write iot/v1/{user}/status",
                          "topic write iot/v1/{user}/result/#", "topic read iot/v1/{user}/cmd/#",
                          "topic read iot/v1/{user}/stored"),
    AccountRole.INGEST: ("topic read iot/v1/+/telemetry", "topic read iot/v1/+/status",
                         "topic write iot/v1/+/stored"),
    AccountRole.ADMIN: ("topic readwrite iot/v1/#",),
}


def render_acl(session: Session, roles: Collection[AccountRole] | None = None) -> str:
    """Per-user rules only (of ``roles``, if given): a user not listed (or revoked) may do
    nothing."""
    blocks = ["# Generated by iotgw from the registry; edits are overwritten.\n"]
    for account in _active(session, roles):
        rules = "\n".join(r.format(user=account.username) for r in _RULES[account.role])
        blocks.append(f"user {account.username}\n{rules}\n")
    return "\n".join(blocks)


def write_broker_files(session: Session, directory: Path) -> list[Path]:
    """Rewrite the broker's password and ACL files (created 0600, ending 0640); returns
    their paths.

    Each listener of ``deploy/mosquitto/mosquitto.conf`` reads its own: the central
    services' plain listener ``services.passwd`` and ``services.acl`` (no gateway can log
    in there), the gateways' mutual-TLS listener ``gateways.acl`` (the account comes from
    the certificate, so it needs no password file). ``passwd`` and ``acl`` hold every
    account, for a lab broker with one password listener (bundles made with ``--no-cert``).

    Raises:
        RegistryError: a registry row breaks the id rule (``unsafe_ids``, all of them
            named) or the password file would be ambiguous; nothing was written.
    """
    if unsafe := unsafe_ids(session):
        raise RegistryError(
            f"registry rows with ids that are not {ALLOWED}: {', '.join(unsafe)}."
            " Rename or delete them (':' was allowed before); nothing written")
    services = (AccountRole.INGEST, AccountRole.ADMIN)
    texts = {PASSWORD_FILE: render_password_file(session), ACL_FILE: render_acl(session),
             SERVICES_PASSWORD_FILE: render_password_file(session, services),
             SERVICES_ACL_FILE: render_acl(session, services),
             GATEWAYS_ACL_FILE: render_acl(session, (AccountRole.GATEWAY,))}
    return [write_file(directory / name, text, mode=BROKER_FILE_MODE)
            for name, text in texts.items()]
