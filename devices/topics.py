"""The MQTT topic scheme, version in the path: ``iot/v1/{gateway_id}/telemetry|status|cmd/{name}``.

Gateway ids are used as MQTT usernames and as topic levels (the broker's ACL is
``pattern write iot/v1/%u/#``), so an id may never contain ``/``, ``+`` or ``#``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ROOT = "iot/v1"
TELEMETRY_SUBSCRIPTION = f"{ROOT}/+/telemetry"
STATUS_SUBSCRIPTION = f"{ROOT}/+/status"

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_ID_RE = re.compile(ID_PATTERN)

TopicKind = Literal["telemetry", "status", "cmd"]


class TopicError(ValueError):
    """A topic outside the iotgw scheme, or an id that cannot be a topic level."""


def check_id(value: str, what: str = "id") -> str:
    if not _ID_RE.fullmatch(value):
        raise TopicError(
            f"invalid {what} {value!r}: 1-64 characters of letters, digits, '_', '.', ':', '-',"
            " starting with a letter or digit"
        )
    return value


def telemetry_topic(gateway_id: str) -> str:
    return f"{ROOT}/{check_id(gateway_id, 'gateway id')}/telemetry"


def status_topic(gateway_id: str) -> str:
    return f"{ROOT}/{check_id(gateway_id, 'gateway id')}/status"


def cmd_topic(gateway_id: str, name: str) -> str:
    return f"{ROOT}/{check_id(gateway_id, 'gateway id')}/cmd/{check_id(name, 'command name')}"


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
