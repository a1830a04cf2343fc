"""The OPC UA source: one device's configured nodes, read from an OPC UA server at each
turn (polling: one Read request for all of them) with asyncua, on an event loop thread of
its own so that the session's keep-alive and channel renewal go on between turns.

The readings are stamped by the agent at read time. A node whose status is bad is left
out of the reading (one whose status is uncertain makes the reading's quality uncertain);
a turn where no node gave a number is a read error. A failed connection or request closes
the session and raises ``DeviceReadError``; the next connection is tried no sooner than
``reconnect_min_s`` later, doubling per failure up to ``reconnect_max_s``, and turns in
between fail at once without touching the network.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.sync import ThreadLoop
from iotgw.devices import Quality, Reading
from iotgw.gateway.drivers.opcua.options import OpcuaLink
from iotgw.gateway.errors import DeviceReadError

log = logging.getLogger(__name__)
T = TypeVar("T")

# What a server that went away, or never answered, raises.
LINK_ERRORS = (OSError, TimeoutError, ua.UaError)


class OpcuaSource:
    finished = False  # a real device never is
    pushed = False

    def __init__(self, device_id: str, interval_s: float, link: OpcuaLink) -> None:
        self.device_id = device_id
        self.interval_s = interval_s
        self._link = link
        self._quantities = list(link.nodes)
        self._loop: ThreadLoop | None = None
        self._client: Client | None = None
        self._delay_s = link.reconnect_min_s
        self._retry_at = 0.0  # monotonic: no connection is tried before

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the source's loop, cancelled if it outlives its time."""
        if self._loop is None:
            self._loop = ThreadLoop(timeout=None)
            self._loop.start()
        bound = self._link.timeout_s * 3  # a connection is a few requests
        return self._loop.post(asyncio.wait_for(coro, bound))

    async def _connect(self) -> Client:
        link = self._link
        client = Client(link.endpoint, timeout=link.timeout_s)
        if link.application_uri is not None:
            client.application_uri = link.application_uri
        if link.username is not None:
            client.set_user(link.username)
            client.set_password(link.password or "")
        if link.security_policy == "Basic256Sha256":
            await client.set_security(
                SecurityPolicyBasic256Sha256, str(link.certificate), str(link.private_key),
                server_certificate=str(link.server_certificate) if link.server_certificate else None,
                mode=getattr(ua.MessageSecurityMode, link.security_mode))
        await client.connect()
        return client

    async def _read(self, client: Client) -> list[ua.DataValue]:
        nodes = [client.get_node(self._link.nodes[q].node) for q in self._quantities]
        return await client.read_attributes(nodes, ua.AttributeIds.Value)

    def read(self, now_ms: int) -> list[Reading]:
        if self._client is None:
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                raise DeviceReadError(f"device {self.device_id}: {self._link.endpoint} unreachable;"
                                      f" next try in {wait:.1f}s")
            try:
                self._client = self._run(self._connect())
            except LINK_ERRORS as exc:
                self._failed(f"cannot connect: {exc!r}")
            log.info("opcua %s: connected to %s", self.device_id, self._link.endpoint)
        try:
            answers = self._run(self._read(self._client))
        except LINK_ERRORS as exc:
            self._drop()
            self._failed(f"read failed: {exc!r}")
        self._delay_s = self._link.reconnect_min_s
        return [self._reading(now_ms, answers)]

    def _reading(self, now_ms: int, answers: list[ua.DataValue]) -> Reading:
        """Raises: DeviceReadError, never the schema's error: a server's NaN, infinity or
        a value its scale overflows is left out like a bad node, not a crash of the agent."""
        if len(answers) != len(self._quantities):
            self._drop()
            self._failed(f"answered {len(answers)} values for {len(self._quantities)} nodes")
        values: dict[str, float] = {}
        quality = Quality.GOOD
        for quantity, answer in zip(self._quantities, answers, strict=True):
            status = answer.StatusCode or ua.StatusCode()
            value = answer.Value.Value if answer.Value is not None else None
            scale = self._link.nodes[quantity].scale
            number = None if status.is_bad() else _finite(value, scale)
            if number is None:
                shown = repr(value)
                log.warning("opcua %s: %s (%s) gave %s, status %s: left out", self.device_id,
                            quantity, self._link.nodes[quantity].node,
                            shown if len(shown) <= 80 else f"{shown[:80]}...", status.name)
                continue
            if status.is_uncertain():
                quality = Quality.UNCERTAIN
            values[quantity] = number
        if not values:
            raise DeviceReadError(f"device {self.device_id}: no node of {self._link.endpoint}"
                                  f" gave a number")
        return Reading(device=self.device_id, ts=now_ms, values=values, quality=quality)

    def _failed(self, why: str) -> None:
        """Raises: DeviceReadError, after setting when the next connection may be tried."""
        self._retry_at = time.monotonic() + self._delay_s
        message = (f"device {self.device_id}: {self._link.endpoint} {why};"
                   f" next try in {self._delay_s:.1f}s")
        self._delay_s = min(self._delay_s * 2, self._link.reconnect_max_s)
        raise DeviceReadError(message)

    def _drop(self) -> None:
        """Close the session as far as the server still answers; the socket goes anyway."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            self._run(client.disconnect())
        except (*LINK_ERRORS, asyncio.CancelledError) as exc:
            log.debug("opcua %s: disconnect: %r", self.device_id, exc)

    def committed(self) -> None:
        return None

    def checkpoint(self) -> str:
        return ""  # the server keeps its own state

    def restore(self, checkpoint: str) -> None:
        return None

    def close(self) -> None:
        self._drop()
        if self._loop is not None:
            self._loop.stop()
            self._loop = None


def _finite(value: object, scale: float) -> float | None:
    """A node's value times ``scale`` as a finite number (a bool is 0 or 1), or None: text,
    arrays, structures, NaN, and infinities (a server's, or a huge value's scaled) are no
    reading."""
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value) * scale
    except OverflowError:  # an integer beyond any float (no OPC UA integer type is)
        return None
    return number if math.isfinite(number) else None
