"""MQTT consumer that stores telemetry in InfluxDB, acknowledging only what is stored."""

from ingest.config import IngestConfig, load_ingest_config
from ingest.consumer import Consumer, Delivery, retire_session, shared_subscription
from ingest.dead_letters import DeadLetter, DeadLetterStore
from ingest.decode import decode_message
from ingest.errors import DeadLetterUnavailable, IngestError
from ingest.points import Context, Decoded, Rejected
from ingest.service import IngestService

__all__ = [
    "Consumer",
    "Context",
    "DeadLetter",
    "DeadLetterStore",
    "DeadLetterUnavailable",
    "Decoded",
    "Delivery",
    "IngestConfig",
    "IngestError",
    "IngestService",
    "Rejected",
    "decode_message",
    "load_ingest_config",
    "retire_session",
    "shared_subscription",
]
