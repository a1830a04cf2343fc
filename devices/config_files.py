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


_HEADER = re.compile(r"^[ \t]*\[", re.MULTILINE)


def _nth_table(text: str, span: tuple[int, int], path: str, index: int | None) -> tuple[int, int] | None:
    """Span of the table ``[path]`` (``index`` None), or of the ``index``-th ``[[path]]``
    table of an array of tables: from its header to the next ``[[path]]`` header, or the
    next header outside ``path``."""
    brackets = (r"\[", r"\]") if index is None else (r"\[\[", r"\]\]")
    header = re.compile(rf"^[ \t]*{brackets[0]}[ \t]*{re.escape(path)}[ \t]*{brackets[1]}", re.MULTILINE)
    index = index or 0
    starts = [m.end() for m in header.finditer(text, *span)]
    if index >= len(starts):
        return None
    start = starts[index]
    for following in _HEADER.finditer(text, start, span[1]):
        rest = text[following.end():following.end() + len(path) + 2].lstrip("[ \t")
        if not rest.startswith(path + ".") or header.match(text, following.start()):
            return start, following.start()
    return start, span[1]


def _nth_inline(text: str, span: tuple[int, int], key: str, index: int) -> tuple[int, int] | None:
    """Span of the ``index``-th item of an inline array ``key = [item, item, ...]``: the
    items are found by counting brackets and braces outside strings."""
    opening = re.compile(rf"(?:^|[{{,])[ \t]*\"?{re.escape(key)}\"?[ \t]*=[ \t]*\[", re.MULTILINE)
    match = opening.search(text, *span)
    if match is None:
        return None
    depth, item, start, quote = 0, 0, None, ""
    position = match.end()
    while position < span[1]:
        char = text[position]
        if quote:
            if char == "\\" and quote == '"':
                position += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":  # a comment, to the end of its line
            newline = text.find("\n", position, span[1])
            position = span[1] if newline < 0 else newline
            continue
        elif depth == 0 and char in ",]":
            if start is not None and item == index:
                return start, position
            item, start = item + (start is not None), None
            if char == "]":
                return None
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if depth >= 0 and start is None and not char.isspace() and char not in ",]":
            start = position
        position += 1
    return None


def _line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort line of the deepest named key of ``loc`` in the TOML text, within the
    item each index of ``loc`` names: ``devices.1.id`` is the ``id`` of the second
    ``[[devices]]`` table, or of the second table of ``devices = [{...}, {...}]``. When the
    key is not written in that item (a missing key), the item's own line."""
    span = (0, len(text))
    path: list[str] = []
    for depth, part in enumerate(loc):
        if isinstance(part, str):
            path.append(part)
            if depth + 1 < len(loc) and isinstance(loc[depth + 1], str):
                span = _nth_table(text, span, ".".join(path), None) or span
            continue
        if not path:
            break
        item = _nth_table(text, span, ".".join(path), part) or _nth_inline(text, span, path[-1], part)
        if item is None:
            break
        span = item
    keys = [k for k in loc if isinstance(k, str)]
    for key in reversed(keys):
        pattern = rf"(?:^|[{{,])[ \t]*\"?{re.escape(key)}\"?[ \t]*="
        match = re.compile(pattern, re.MULTILINE).search(text, *span)
        if match:
            return text.count("\n", 0, match.end()) + 1
    return text.count("\n", 0, span[0]) + 1 if span[0] else None


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
