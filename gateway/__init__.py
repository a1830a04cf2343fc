"""The edge agent: config, durable buffer, MQTT publisher and the polling loop."""

from gateway.buffer import Buffer
from gateway.config import DeviceConfig, GatewayConfig, load_gateway_config
from gateway.errors import BufferUnavailable, GatewayError, UnknownDriver
from gateway.pipeline import Source, SourceFactory
from gateway.schedule import build_sources
from gateway.service import Agent

__all__ = [
    "Agent",
    "Buffer",
    "BufferUnavailable",
    "DeviceConfig",
    "GatewayConfig",
    "GatewayError",
    "Source",
    "SourceFactory",
    "UnknownDriver",
    "build_sources",
    "load_gateway_config",
]
