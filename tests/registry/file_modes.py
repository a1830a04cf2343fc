"""Every mode a file had while it was being written, observed, not inferred.

``watch_modes(directory)`` sets the umask to 0 (so a file is created with exactly the mode
its ``open`` asked for, not one the umask narrowed) and, through a Python audit hook,
looks at every file created under ``directory`` at each audited event: the ``open``
that creates the next file, each ``chmod``/``fchmod`` (just before it applies) and each
rename. A mode only changes through a ``chmod``, so these looks see every mode a file ever
had, the first one being the mode it was created with. Audit hooks cannot be removed:
one is installed per process and does nothing outside ``watch_modes``.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Modes:
    """``modes[path]``: the modes seen at ``path``, in order; ``created``: the paths a
    file was created at (their first mode is the one it was created with); ``renamed[new]
    = old``."""

    directory: Path
    modes: dict[Path, list[int]] = field(default_factory=dict)
    created: set[Path] = field(default_factory=set)
    renamed: dict[Path, Path] = field(default_factory=dict)

    def history(self, path: Path) -> list[int]:
        """The modes of the bytes now at ``path``: those of the file renamed there, then its own."""
        earlier = self.renamed.get(path)
        return (self.history(earlier) if earlier else []) + self.modes.get(path, [])

    def _look(self) -> None:
        for path, seen in self.modes.items():
            try:
                mode = stat.S_IMODE(os.lstat(path).st_mode)
            except FileNotFoundError:
                continue
            if not seen or seen[-1] != mode:
                seen.append(mode)

    def _event(self, event: str, args: tuple[Any, ...]) -> None:
        self._look()
        if event == "open" and isinstance(args[0], str | bytes | os.PathLike) and args[2] & os.O_CREAT:
            path = Path(os.fsdecode(args[0])).absolute()
            if path.is_relative_to(self.directory) and not path.exists():
                self.created.add(path)
                self.modes.setdefault(path, [])
        elif event == "os.rename":
            new = Path(os.fsdecode(args[1])).absolute()
            self.renamed[new] = Path(os.fsdecode(args[0])).absolute()
            self.modes.setdefault(new, [])


_current: Modes | None = None
_busy = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    global _busy
    if _current is None or _busy or event not in ("open", "os.chmod", "os.rename"):
        return
    _busy = True
    try:
        _current._event(event, args)
    finally:
        _busy = False


_installed = False


@contextmanager
def watch_modes(directory: Path) -> Iterator[Modes]:
    """Observe the modes of the files created under ``directory`` with a umask of 0."""
    global _current, _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    watched = Modes(directory.absolute())
    old_umask = os.umask(0)
    _current = watched
    try:
        yield watched
    finally:
        _current = None
        os.umask(old_umask)
        watched._look()
