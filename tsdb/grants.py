"""InfluxDB 1.x accounts with only the grants their service needs, set up by an admin.

InfluxDB 1.x grants READ, WRITE or ALL (both) per database, and nothing finer: that is why
personal data has a database of its own (``tsdb.schema.personal_database``). Creating
databases, users and grants needs an admin account; applying the same accounts again
changes nothing, and a changed password or privilege replaces the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from iotgw.tsdb.client import InfluxClient
from iotgw.tsdb.schema import create_databases, personal_database

Privilege = Literal["READ", "WRITE", "ALL"]


@dataclass(frozen=True, slots=True)
class Account:
    """A service's account and its privilege on the main and on the personal database
    (None: no grant there)."""

    user: str
    password: str
    main: Privilege | None
    personal: Privilege | None

    def __repr__(self) -> str:  # never the password, in a log or a traceback
        return f"Account({self.user!r}, main={self.main}, personal={self.personal})"


def apply_accounts(influx: InfluxClient, database: str, accounts: list[Account], *,
                   raw_retention: str) -> None:
    """Create both databases with their retention policies, then each account (or set its
    password) with exactly its grants. ``influx`` logs in as an admin."""
    create_databases(influx, database, raw_retention=raw_retention)
    for account in accounts:
        influx.set_user(account.user, account.password)
        influx.set_privilege(account.user, database, account.main)
        influx.set_privilege(account.user, personal_database(database), account.personal)
