"""Remote commands: a JSON object on ``iot/v1/{gateway}/cmd/{name}``, answered on
``iot/v1/{gateway}/result/{name}`` with ``{"id", "command", "ok", "result" | "error"}``
(``id`` is the request's, if it gave one; MQTT 5 Correlation Data is returned too).

- ``ping``: the agent's clock and uptime;
- ``rebirth``: the retained ``online`` status with current health, now;
- ``reload``: the configuration file is read again, validated, and applied as a whole
  (devices, report rules, publishing) or not at all. Changes to the gateway id, the
  broker or the buffer need a restart and are refused, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from iotgw.gateway.config import GatewayConfig
from iotgw.gateway.pipeline import Source

# Reads and builds the configuration again; raises ConfigError or GatewayError.
Reloader = Callable[[], tuple[GatewayConfig, list[Source]]]


class Refused(Exception):
    """A command that is not carried out; the message is the answer's ``error``."""


def request_id(payload: bytes) -> Any:
    """The request's ``id``; raises Refused for a payload that is not a JSON object."""
    try:
        request = json.loads(payload or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(f"the request is not JSON: {exc}") from exc
    if not isinstance(request, dict):
        raise Refused("the request must be a JSON object")
    return request.get("id")


def answer(name: str, rid: Any, *, result: dict[str, Any] | None = None,
           error: str | None = None) -> bytes:
    body: dict[str, Any] = {"id": rid, "command": name, "ok": error is None}
    body.update({"error": error} if error is not None else {"result": result or {}})
    return json.dumps(body, ensure_ascii=False).encode()


def unchangeable(old: GatewayConfig, new: GatewayConfig) -> str | None:
    """What a reload may not change while running, if the new configuration does."""
    for key in ("gateway_id", "broker", "buffer"):
        if getattr(old, key) != getattr(new, key):
            return f"{key} changed: that needs a restart"
    return None
