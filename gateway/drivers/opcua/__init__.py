"""OPC UA servers (PLCs, SCADA) polled node by node: see README.md. asyncua is imported by
``make_source``, not with the options."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from iotgw.gateway.drivers.opcua.options import NodeOption, OpcuaLink, Options

if TYPE_CHECKING:
    from iotgw.gateway.config import DeviceConfig
    from iotgw.gateway.pipeline import Source


def make_source(device: DeviceConfig) -> Source:
    """The nodes' quantities were checked against the profile when the file was loaded."""
    from iotgw.gateway.drivers.opcua.source import OpcuaSource

    link = cast(Options, device).opcua  # the device model joins the driver's Options
    return OpcuaSource(device.id, device.interval_s, link)


__all__ = ["NodeOption", "OpcuaLink", "Options", "make_source"]
