"""The MQTT-node driver's keys of a ``[[devices]]`` table: the gateway's local broker,
where the node publishes. Pure: checked when the file is loaded."""

from __future__ import annotations

from typing import Annotated, Literal

from iotgw.devices import Host
from iotgw.devices.links import Frozen
from pydantic import Field


class MqttNodeLink(Frozen):
    """The gateway's local broker, where microcontroller nodes publish (firmware_stubs/)."""

    host: Host = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883


class Options(Frozen):
    driver: Literal["mqtt_node"]
    mqtt_node: MqttNodeLink = MqttNodeLink()
