"""Parsing a service's TOML configuration into its pydantic model, with errors people can act on.

Every package owns its config model; they all parse through here so that an error always
names the file, the key path and what was expected, and carries the line of the key when
it can be found. ``parse_config`` does no I/O; ``load_config`` reads the file first.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file that cannot be used, with where and why."""


def _line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort line of the deepest named key of ``loc`` in the TOML text."""
    keys = [k for k in loc if isinstance(k, str)]
    for key in reversed(keys):
        match = re.search(rf"^[ \t]*\"?{re.escape(key)}\"?[ \t]*=", text, re.MULTILINE)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return None


def parse_config(text: str, model: type[M], *, source: str) -> M:
    """Validate the TOML ``text`` as ``model``; ``source`` names the file in errors.

    Raises:
        ConfigError: TOML syntax error, or a value the model rejects.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(top level)"
            line = _line_of(text, err["loc"])
            where = f"line {line}, " if line else ""
            problems.append(f"{source}: {where}{key}: {err['msg']}")
        raise ConfigError("\n".join(problems)) from exc


def load_config(path: Path, model: type[M]) -> M:
    """Read and validate a TOML file.

    Raises:
        ConfigError: unreadable file, TOML syntax error, or a value the model rejects.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_config(text, model, source=str(path))
