"""MQTT consumer that stores telemetry in InfluxDB, acknowledging only what is stored."""

from iotgw.ingest.config import IngestConfig, load_ingest_config
from iotgw.ingest.consumer import Consumer, Delivery, retire_session, shared_subscription
from iotgw.ingest.dead_letters import DeadLetter, DeadLetterStore
from iotgw.ingest.decode import decode_message
from iotgw.ingest.errors import DeadLetterUnavailable, IngestError
from iotgw.ingest.points import Context, Decoded, Rejected
from iotgw.ingest.service import IngestService, tune_gc_for_streaming

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
    "tune_gc_for_streaming",
]
