"""A real filesystem that fails as SD cards do, for tests run as root (CI does): an ext4
image, loop-mounted with ``errors=remount-ro``, whose kernel error trigger
(``/sys/fs/ext4/<dev>/trigger_fs_error``) makes ext4 remount it read-only at once, the
emergency remount a failing card causes; open files stay open and every write fails.
``chmod`` would not do: root writes through it.

The kernel refuses to make such a filesystem writable again in place, so ``replace`` does
what a technician does: the image is copied (the card imaged), the old mount detached
lazily (the agent still holds its files) and the copy mounted at the same place.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


class FailingDisk:
    def __init__(self, workdir: Path, size_mb: int = 64) -> None:
        self.mount = workdir / "disk"
        self.mount.mkdir()
        self._image = workdir / "card-0.img"
        self._images = 0
        result = _run("truncate", "-s", f"{size_mb}M", str(self._image))
        assert result.returncode == 0, result.stderr
        result = _run("mkfs.ext4", "-q", "-F", str(self._image))
        assert result.returncode == 0, result.stderr
        self._mount_image()

    def _mount_image(self) -> None:
        result = _run("mount", "-o", "loop,errors=remount-ro", str(self._image), str(self.mount))
        assert result.returncode == 0, f"loop-mounting ext4 needs root (CI runs as root): {result.stderr}"

    def options(self) -> list[str]:
        return _run("findmnt", "-n", "-o", "OPTIONS", str(self.mount)).stdout.strip().split(",")

    def fail(self) -> None:
        """ext4's emergency remount: read-only from now on, files left open."""
        device = Path(_run("findmnt", "-n", "-o", "SOURCE", str(self.mount)).stdout.strip()).name
        Path(f"/sys/fs/ext4/{device}/trigger_fs_error").write_text("test: failing card\n")
        assert {"ro", "emergency_ro"} & set(self.options()), self.options()

    def replace(self) -> None:
        """A writable filesystem at the same place, holding what the failed one held."""
        self._images += 1
        copy = self._image.with_name(f"card-{self._images}.img")
        result = _run("cp", "--sparse=always", str(self._image), str(copy))
        assert result.returncode == 0, result.stderr
        self.detach()
        self._image = copy
        self._mount_image()
        assert "rw" in self.options() and "emergency_ro" not in self.options(), self.options()

    def detach(self) -> None:
        _run("umount", "-l", str(self.mount))
