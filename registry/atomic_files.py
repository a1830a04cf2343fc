"""Writing the files provisioning makes (broker passwords and ACL, keys, certificates):
whole or not at all, and never readable by more than their final mode allows.

A file is written to a new temporary file beside it, created by ``os.open`` with
``O_CREAT | O_EXCL`` and mode 0600 (``tempfile.mkstemp``): the umask can narrow that but
not widen it, no other process can have it open, and a symlink planted at its name is
refused, not followed. Its final mode is set with ``fchmod`` (which the umask does not
touch) after the last byte and before it is renamed over the old file. So every moment
of its life the file is at most 0600 or at most its final mode, and a reader sees the old
file or the new one, never a part. The new file is a new inode: a reader that opened the
old one (perhaps while it was wider) never sees the new contents.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE = 0o600


def write_file(path: Path, data: str | bytes, *, mode: int = PRIVATE) -> Path:
    """Replace ``path`` with ``data`` (text is UTF-8), ending with ``mode``.

    Raises:
        OSError: the directory cannot be written; ``path`` is then unchanged and no
            temporary file is left behind.
    """
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path
