"""LoRaWAN devices, through a ChirpStack v4 MQTT integration: see README.md. paho-mqtt
is imported by ``make_source``, not with the options."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from iotgw.gateway.drivers.lorawan.options import FieldOption, LorawanLink, Options

if TYPE_CHECKING:
    from iotgw.gateway.config import DeviceConfig
    from iotgw.gateway.pipeline import Source


def make_source(device: DeviceConfig) -> Source:
    """The fields' quantities were checked against the profile when the file was loaded."""
    from iotgw.gateway.drivers.lorawan.source import LorawanSource
    from iotgw.gateway.drivers.lorawan.uplink import FieldMap

    link = cast(Options, device).lorawan  # the device model joins the driver's Options
    fields = [FieldMap(path, f.quantity, f.scale) for path, f in link.fields.items()]
    return LorawanSource(device.id, device.interval_s, link=link.broker, dev_eui=link.dev_eui,
                         application_id=link.application_id, fields=fields)


__all__ = ["FieldOption", "LorawanLink", "Options", "make_source"]
