"""Connecting to the registry and bringing its schema up to date (Alembic).

SQLite file by default (nothing to install); PostgreSQL by URL, e.g.
``postgresql+psycopg://iotgw@db.example/iotgw``, for a province-wide deployment.

Only ``iotgw registry init`` (and tests building a registry) may create a SQLite file:
services that read the registry ask for ``make_engine(url, must_exist=True)``, whose
connections open the file read-write but never create it, so a wrong or not yet
initialised path is an error naming it, not an empty registry at that path.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from iotgw.registry.errors import RegistryError
from iotgw.registry.tag_cache import track_changes
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _must_exist(url: URL) -> URL:
    """A SQLite file URL as a SQLite URI with ``mode=rw``: read and written, never created.
    Other URLs (PostgreSQL, in memory, already a URI) as they are."""
    if (url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:"
            or "uri" in url.query):
        return url
    path = quote(os.path.abspath(url.database))  # what SQLite would open, escaped for a URI
    return url.set(database=f"file:{path}", query={**url.query, "mode": "rw", "uri": "true"})


def make_engine(url: str, *, must_exist: bool = False) -> Engine:
    """An engine on the registry at ``url`` (no connection is made yet).

    Args:
        url: a SQLAlchemy URL.
        must_exist: for readers: a SQLite file is never created, a connection to a
            missing one fails ("unable to open database file").

    Raises:
        RegistryError: the URL is malformed or its driver is not installed (the message
            names the URL, password masked).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:  # unparsed: show no part that could be a password
        raise RegistryError(f"registry URL {url.split(':', 1)[0]}:... is malformed: {exc}") from exc
    try:
        engine = create_engine(_must_exist(parsed) if must_exist else parsed)
    except (ArgumentError, ImportError) as exc:
        raise RegistryError(f"registry {parsed.render_as_string(hide_password=True)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
    return engine


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on the engine's database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose changes bump the registry revision (see ``tag_cache``)."""
    return track_changes(sessionmaker(engine, expire_on_commit=False))
