"""Microcontroller nodes publishing iotgw telemetry v1 to the gateway's local broker: see
README.md. paho-mqtt is imported by ``make_source``, not with the options."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iotgw.gateway.drivers.mqtt_node.options import MqttNodeLink, Options

if TYPE_CHECKING:
    from iotgw.gateway.config import DeviceConfig
    from iotgw.gateway.pipeline import Source


def make_source(device: DeviceConfig) -> Source:
    """Connects nothing: the node's broker is reached at the first read."""
    from iotgw.gateway.drivers.mqtt_node.source import MqttNodeSource

    return MqttNodeSource(device)


__all__ = ["MqttNodeLink", "Options", "make_source"]
