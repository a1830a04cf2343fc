"""The edge agent: config, durable buffer, MQTT publisher and the polling loop."""

from iotgw.gateway.buffer import Buffer
from iotgw.gateway.config import DeviceConfig, GatewayConfig, load_gateway_config
from iotgw.gateway.errors import BufferUnavailable, GatewayError, UnknownDriver
from iotgw.gateway.pipeline import Source, SourceFactory
from iotgw.gateway.schedule import build_sources
from iotgw.gateway.service import Agent

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
