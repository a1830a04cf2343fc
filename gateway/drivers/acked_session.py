"""What the drivers that subscribe to a broker (mqtt_node, lorawan) do with their MQTT
session: a persistent session, and messages acknowledged only once the agent has committed
their readings, so the broker keeps whatever a crash would lose. Imported by their sources
only (it imports paho-mqtt)."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def session_never_expires() -> Properties:
    """CONNECT properties of a session that outlives the gateway."""
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0xFFFFFFFF
    return props


class AckedAfterCommit:
    """The end of a subscribing source's turn: the message ids its ``read`` took are in
    ``_taken`` (under ``_lock``), acknowledged on ``committed``. No checkpoint: what is not
    acknowledged stays in the broker's session."""

    _client: mqtt.Client
    _lock: threading.Lock
    _taken: list[int]

    def committed(self) -> None:
        """The agent has committed what ``read`` returned: the broker's messages may go."""
        with self._lock:
            taken, self._taken = self._taken, []
        for mid in taken:
            self._client.ack(mid, 1)

    def checkpoint(self) -> str:
        return ""

    def restore(self, checkpoint: str) -> None:
        return None

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
