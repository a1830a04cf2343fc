"""The MQTT topic scheme, version in the path: ``iot/v1/{gateway_id}/telemetry|status|cmd/{name}``
(and ``stored``, ingest's confirmations to the gateway, ``result/{name}``, its answers),
and the one rule for ids (gateways, devices, organisations, broker accounts, commands).

An id is 1-64 ASCII letters, digits, ``_``, ``.`` and ``-``, starting with a letter or a
digit (``ID_PATTERN``), because the same string is, unescaped, all of these: an MQTT
username and client id; a topic level (``/`` separates levels, ``+`` and ``#`` are
wildcards, a leading ``$`` marks the broker's own topics); the user of a line
``user:hash`` of Mosquitto's password file (split at ``:``, so ``iotgw-admin:`` would be a
second entry for ``iotgw-admin``); the rest of an ACL line ``user <name>`` and a level of
its ``topic`` rules (``%`` starts ``%u``/``%c`` in ACL patterns); a file name in gateway
bundles; a segment of API paths (``%`` escapes, ``/``, ``?``, ``#``); an InfluxDB tag value.
So no ``:``, ``#``, ``+``, ``/``, ``%``, ``$``, no whitespace or control characters, nothing
outside ASCII (no look-alike letters), and never ``.`` or ``..`` (the first character is
a letter or digit). Every entry point checks it: telemetry and config models through
``devices.telemetry.EntityId``, registry imports, provisioning.

A gateway id is also never in the central services' namespace (``SERVICE_PREFIX``): on
the gateways' listener the broker makes a gateway's client id its id, so a gateway named
like an ingest worker could otherwise take that worker's session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ROOT = "iot/v1"
TELEMETRY_SUBSCRIPTION = f"{ROOT}/+/telemetry"
STATUS_SUBSCRIPTION = f"{ROOT}/+/status"

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ALLOWED = "1-64 characters of letters, digits, '_', '.', '-', starting with a letter or digit"
_ID_RE = re.compile(ID_PATTERN)

TopicKind = Literal["telemetry", "status", "cmd"]


class TopicError(ValueError):
    """A topic outside the iotgw scheme, or an id that cannot be a topic level."""


def is_id(value: object) -> bool:
    """Whether ``value`` is a string that matches ``ID_PATTERN`` whole (no trailing newline)."""
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def check_id(value: str, what: str = "id") -> str:
    """``value`` if it is an id.

    Raises:
        TopicError: naming ``what`` and the rule.
    """
    if not is_id(value):
        raise TopicError(f"invalid {what} {value!r}: {ALLOWED}")
    return value


# The central services' client ids and accounts (ingest workers ``iotgw-ingest-<n>``, their
# replays, ``iotgw-admin``, the broker's health check) start with this; no gateway id may.
SERVICE_PREFIX = "iotgw-"


def check_gateway_id(value: str, what: str = "gateway id") -> str:
    """``value`` if it is an id outside the services' namespace.

    Raises:
        TopicError: naming ``what`` and the rule.
    """
    check_id(value, what)
    if value.lower().startswith(SERVICE_PREFIX):
        raise TopicError(f"invalid {what} {value!r}: {SERVICE_PREFIX!r} starts the central services'"
                         " client ids, so no gateway id may")
    return value


def telemetry_topic(gateway_id: str) -> str:
    return f"{ROOT}/{check_id(gateway_id, 'gateway id')}/telemetry"


def status_topic(gateway_id: str) -> str:
    return f"{ROOT}/{check_id(gateway_id, 'gateway id')}/status"


def cmd_topic(gateway_id: str, name: str) -> str:
    return f"{ROOT}/{check_id(gateway_id, 'gateway id')}/cmd/{check_id(name, 'command name')}"


def stored_topic(gateway_id: str) -> str:
    """Where ingest confirms which of a gateway's batches are stored (``StoredAck``); only
    ingest's account may write it, only that gateway read it."""
    return f"{ROOT}/{check_id(gateway_id, 'gateway id')}/stored"


def result_topic(gateway_id: str, name: str) -> str:
    """Where a gateway answers a command (its ACL lets it write only under its own id)."""
    return f"{ROOT}/{check_id(gateway_id, 'gateway id')}/result/{check_id(name, 'command name')}"


@dataclass(frozen=True, slots=True)
class Topic:
    gateway_id: str
    kind: TopicKind
    command: str | None = None


def parse_topic(topic: str) -> Topic:
    """Split a topic of the scheme into its parts.

    Raises:
        TopicError: the topic is not one of the scheme's.
    """
    root, _, rest = topic.partition(f"{ROOT}/")
    levels = rest.split("/")
    if root or not rest:
        raise TopicError(f"topic {topic!r} is not under {ROOT}/")
    gateway_id = check_id(levels[0], "gateway id")
    match levels[1:]:
        case ["telemetry"]:
            return Topic(gateway_id, "telemetry")
        case ["status"]:
            return Topic(gateway_id, "status")
        case ["cmd", name]:
            return Topic(gateway_id, "cmd", check_id(name, "command name"))
    raise TopicError(f"topic {topic!r} is not telemetry, status or cmd/<name>")
