"""Errors of the registry."""

from __future__ import annotations

from dataclasses import dataclass


class RegistryError(Exception):
    """Base of every error raised by ``registry``."""


class NotFound(RegistryError):
    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key!r}")
        self.kind = kind
        self.key = key


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class ImportFailed(RegistryError):
    """A bulk import found bad rows; nothing of it was stored."""

    def __init__(self, source: str, errors: list[RowError]) -> None:
        shown = "\n".join(f"{source}: {e}" for e in errors[:50])
        more = f"\n... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{len(errors)} bad rows, nothing imported:\n{shown}{more}")
        self.errors = errors


class OutsideProvince(ImportFailed):
    """Rows that a province's administrator may not write: units of another province."""


class RegistryUnavailable(RegistryError):
    """The registry could not be read (file missing or not a database, server down): what
    a reader knew before is all it has."""
