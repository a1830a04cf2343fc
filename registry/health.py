"""Whether the registry can be read right now, and whether its SQLite file is still the one
a reader opened.

A reader that keeps an engine for hours (ingest) must not trust an open connection: a
SQLite connection keeps reading the file it opened even after that file was renamed away
or replaced, so without a look at the path the reader would serve a registry nobody can
see any more. ``RegistryFile.check`` stats the path and says when it changed, so the
reader can drop its connections and read what is there now.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from iotgw.registry.errors import RegistryUnavailable
from sqlalchemy import Engine


def masked_url(engine: Engine) -> str:
    """The engine's URL for messages, with any password replaced by ``***``; a SQLite
    file's as ``sqlite:///`` and its absolute path, however it was opened."""
    path = sqlite_file(engine)
    return f"sqlite:///{path}" if path is not None else engine.url.render_as_string(hide_password=True)


def sqlite_file(engine: Engine) -> Path | None:
    """The file behind a SQLite engine (also of a ``file:...?mode=rw&uri=true`` URL); None
    for an in-memory database or another backend."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    database = url.database
    if str(url.query.get("uri", "")).lower() in ("true", "1"):
        if not database.startswith("file:"):
            return None
        database = unquote(database[len("file:"):].split("?", 1)[0])
        if database.startswith("///"):
            database = database[2:]
        if url.query.get("mode") == "memory":
            return None
    return Path(os.path.abspath(database))


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """What tells one file at a path from another: device and inode (replaced), and
    modification time and size (written in place)."""

    device: int
    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        st = path.stat()
        return cls(st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)

    def same_file(self, other: FileIdentity | None) -> bool:
        return other is not None and (self.device, self.inode) == (other.device, other.inode)


@dataclass(frozen=True, slots=True)
class FileChange:
    """What ``RegistryFile.check`` found: ``replaced`` when another file (or none before)
    is at the path, ``changed`` also when the same file was written."""

    replaced: bool
    changed: bool


class RegistryFile:
    """The SQLite file behind an engine, watched between reads (nothing to do for PostgreSQL).

    Holds now: after ``check``, the engine has no connection opened on an earlier file or
    an earlier state of this one; connections checked out at that moment finish their
    work and are then closed, not reused.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.path = sqlite_file(engine)
        self._seen: FileIdentity | None = None
        if self.path is not None:
            with contextlib.suppress(OSError):  # missing: the first check says so
                self._seen = FileIdentity.of(self.path)

    def check(self) -> FileChange:
        """Compare the file at the path with the one seen last; drop the engine's
        connections when it changed.

        Raises:
            RegistryUnavailable: no file (or no readable directory entry) at the path; the
                engine's connections are dropped, so nothing reads the file that was there.
        """
        if self.path is None:
            return FileChange(replaced=False, changed=False)
        try:
            now = FileIdentity.of(self.path)
        except OSError as exc:
            if self._seen is not None:
                self.engine.dispose()
            self._seen = None
            raise RegistryUnavailable(f"registry file {self.path}: {exc.strerror or exc}") from exc
        before, self._seen = self._seen, now
        if now == before:
            return FileChange(replaced=False, changed=False)
        self.engine.dispose()
        return FileChange(replaced=not now.same_file(before), changed=True)
