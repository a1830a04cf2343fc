"""Ingest service configuration (TOML), validated once at load time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from iotgw.devices import Host, load_config
from iotgw.devices.links import BrokerLink, Frozen, RegistryLink
from iotgw.devices.telemetry import EntityId
from iotgw.tsdb.config import InfluxConfig
from pydantic import Field

# MQTT 5 Session Expiry Interval meaning "never": a worker's session (its subscription and
# unacknowledged messages) outlives the worker until it is retired on purpose.
SESSION_NEVER_EXPIRES = 0xFFFFFFFF


class MqttConfig(BrokerLink):
    # Stable per worker: the broker keeps the session (and its unacknowledged messages)
    # under this id while the worker is down. Services' ids start with "iotgw-", which no
    # gateway id may (iotgw provision): a gateway's client id is its id on the broker.
    client_id: EntityId = "iotgw-ingest-1"
    share_group: EntityId = "ingest"
    # Messages the broker may have in flight to this worker before acknowledgements: it
    # must cover a write batch even at one reading per message, and it bounds memory.
    receive_maximum: Annotated[int, Field(ge=1, le=65_535)] = 10_000
    session_expiry_s: Annotated[int, Field(ge=0, le=SESSION_NEVER_EXPIRES)] = SESSION_NEVER_EXPIRES


class BatchConfig(Frozen):
    max_lines: Annotated[int, Field(ge=1, le=100_000)] = 5_000
    max_wait_s: Annotated[float, Field(gt=0, le=60)] = 0.5


class PolicyConfig(Frozen):
    """What happens to readings that decode but cannot be right (always counted)."""

    # A value outside its quantity's range, a time further ahead than the tolerance, or a
    # time before the device's installation: kept aside as a dead letter, or stored with
    # quality "bad".
    implausible: Literal["dead_letter", "flag"] = "dead_letter"
    future_tolerance_s: Annotated[float, Field(ge=0)] = 300.0
    # A device the registry does not know (only with [registry]): dead letter, or stored
    # with the field unregistered=true and only gateway and device tags.
    unregistered: Literal["dead_letter", "accept"] = "dead_letter"
    # A reading of a registered device that is not placed on the sending gateway at the
    # reading's time (only with [registry]): dead letter, or stored in telemetry_bad with
    # the field foreign=true and only the sender's gateway and device tags.
    foreign_device: Literal["dead_letter", "flag"] = "dead_letter"


class DeadLetterLimits(Frozen):
    """Bounds of the dead-letter store, which any gateway can feed (see ``ingest.dead_letters``)."""

    max_rows: Annotated[int, Field(ge=1)] = 1_000_000
    max_bytes: Annotated[int, Field(ge=1)] = 1 << 30  # payload bytes kept
    # A larger payload is kept cut to this, with its size and SHA-256 in the reason.
    max_payload_bytes: Annotated[int, Field(ge=1)] = 1 << 20
    # When full: delete the oldest letters, or keep the store and discard new ones. Either
    # way each discarded letter is counted and logged.
    when_full: Literal["drop_oldest", "drop_new"] = "drop_oldest"


class MetricsConfig(Frozen):
    """Prometheus text format on http://host:port/metrics; no port, no endpoint. With
    ``--workers N``, worker n serves on ``port + n - 1``."""

    host: Host = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] | None = None


class IngestConfig(Frozen):
    version: Literal[1] = 1
    mqtt: MqttConfig = MqttConfig()
    influx: InfluxConfig = InfluxConfig()
    batch: BatchConfig = BatchConfig()
    policy: PolicyConfig = PolicyConfig()
    registry: RegistryLink | None = None
    metrics: MetricsConfig = MetricsConfig()
    dead_letter_path: Path = Path("ingest-dead-letters.sqlite")
    dead_letters: DeadLetterLimits = DeadLetterLimits()


def load_ingest_config(path: Path) -> IngestConfig:
    """Raises: ConfigError naming the file, the key and the line."""
    return load_config(path, IngestConfig)
