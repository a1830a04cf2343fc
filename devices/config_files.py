"""Parsing a service's TOML configuration into its pydantic model, with errors people can act on.

Every package owns its config model; they all parse through here so that an error always
names the file, the key path and what was expected, and carries the line of the key when
it can be found. ``parse_config`` does no I/O; ``load_config`` reads the file first.

Secrets stay out of configuration files the way Telegraf and Docker Compose keep them out:
a string value may name an environment variable as ``${NAME}`` (``$${`` is a literal
``${``). A variable that is not set is an error naming the file, the key and the variable,
never an empty password.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """A configuration file that cannot be used, with where and why."""


def _host(value: str) -> str:
    """A name, an IPv4 address, or an IPv6 literal written bare (``::1``) or as in a URL
    (``[::1]``): sockets want it bare."""
    if value.startswith("[") or value.endswith("]"):
        try:
            if not (value.startswith("[") and value.endswith("]")):
                raise ValueError
            return str(ipaddress.IPv6Address(value[1:-1]))
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv6 literal in brackets") from None
    if not value:
        raise ValueError("empty host")
    return value


# A host to connect to or listen on (IPv6-only deployments: seed 003 L47, L193).
Host = Annotated[str, AfterValidator(_host)]


def url_host(host: str) -> str:
    """The host as a URL or an ``address:port`` writes it: an IPv6 literal in brackets."""
    return f"[{host}]" if ":" in host else host


def _line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort line of the deepest named key of ``loc`` in the TOML text."""
    keys = [k for k in loc if isinstance(k, str)]
    for key in reversed(keys):
        match = re.search(rf"^[ \t]*\"?{re.escape(key)}\"?[ \t]*=", text, re.MULTILINE)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return None


_VARIABLE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _where(text: str, source: str, loc: tuple[int | str, ...]) -> str:
    key = ".".join(str(part) for part in loc) or "(top level)"
    line = _line_of(text, loc)
    return f"{source}: {f'line {line}, ' if line else ''}{key}"


def _expand(value: Any, env: Mapping[str, str], text: str, source: str,
            loc: tuple[int | str, ...] = ()) -> Any:
    """``value`` with every ``${NAME}`` in its strings replaced from ``env``."""
    if isinstance(value, dict):
        return {k: _expand(v, env, text, source, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, text, source, (*loc, i)) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        escaped, name = match.groups()
        if escaped:
            return "${" + name + "}"
        if name not in env:
            raise ConfigError(f"{_where(text, source, loc)}: environment variable {name} is not set")
        return env[name]

    return _VARIABLE.sub(substitute, value)


def parse_config(text: str, model: type[M], *, source: str,
                 env: Mapping[str, str] | None = None) -> M:
    """Validate the TOML ``text`` as ``model``; ``source`` names the file in errors.

    ``${NAME}`` in a string value is taken from ``env`` (default: the process environment).

    Raises:
        ConfigError: TOML syntax error, an unset variable, or a value the model rejects.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    raw = _expand(raw, os.environ if env is None else env, text, source)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_where(text, source, err['loc'])}: {err['msg']}" for err in exc.errors()]
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
