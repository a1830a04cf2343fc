"""Replaying dead letters after a fix: back through the broker, on their original topics.

Going through the broker rather than writing directly means a replayed message takes the
normal path: a worker decodes, writes and acknowledges it, and if it is still bad it
returns to the dead letters with a fresh reason. A dead letter is deleted only once the
broker has accepted its copy with a PUBACK *Success* (with an MQTT 5 failure reason, or
*No matching subscribers*, it stays).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from iotgw.ingest.config import MqttConfig
from iotgw.ingest.consumer import mqtt_client
from iotgw.ingest.dead_letters import DeadLetterStore
from iotgw.ingest.errors import IngestError
from paho.mqtt.reasoncodes import ReasonCode


@dataclass
class ReplayResult:
    replayed: list[int] = field(default_factory=list)
    kept: dict[int, str] = field(default_factory=dict)  # id -> why it stays


def replay_dead_letters(
    store: DeadLetterStore, mqtt_cfg: MqttConfig, *, limit: int = 10_000, timeout_s: float = 30.0,
) -> ReplayResult:
    """Republish up to ``limit`` dead letters, oldest first.

    Raises:
        IngestError: the broker could not be reached or did not answer in time.
    """
    result = ReplayResult()
    letters = []
    for letter in store.list(limit=limit):
        if letter.cut:
            result.kept[letter.id] = (f"payload was cut to {len(letter.payload)} of {letter.size} bytes"
                                      " when stored: it cannot be replayed")
        else:
            letters.append(letter)
    if not letters:
        return result
    acks: dict[int, str] = {}
    done = threading.Event()
    connected = threading.Event()
    client = mqtt_client(mqtt_cfg, client_id=f"{mqtt_cfg.client_id}-replay")
    refused: list[str] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        connected.set()

    def on_publish(_c: mqtt.Client, _u: object, mid: int, reason: ReasonCode, _p: object) -> None:
        acks[mid] = "Success" if reason.value == 0 else str(reason)
        if len(acks) == len(letters):
            done.set()

    client.on_connect = on_connect

    client.on_publish = on_publish
    try:
        client.connect(mqtt_cfg.host, mqtt_cfg.port)
    except OSError as exc:
        raise IngestError(f"cannot reach the broker {mqtt_cfg.host}:{mqtt_cfg.port}: {exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            raise IngestError(f"no answer from the broker {mqtt_cfg.host}:{mqtt_cfg.port}")
        if refused:
            raise IngestError(f"the broker refused the connection: {refused[0]}")
        mids = {client.publish(letter.topic, letter.payload, qos=1).mid: letter.id
                for letter in letters}
        if not done.wait(timeout_s):
            raise IngestError(f"the broker acknowledged {len(acks)} of {len(letters)} in {timeout_s}s")
    finally:
        client.disconnect()
        client.loop_stop()
    for mid, letter_id in mids.items():
        if acks.get(mid) == "Success":
            result.replayed.append(letter_id)
        else:
            result.kept[letter_id] = acks.get(mid, "no acknowledgement")
    store.delete(result.replayed)
    return result
