"""Modbus TCP and RTU devices read by their register map (``devices/library/``): see
README.md. pymodbus is imported by ``make_source``, not with the options."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iotgw.gateway.drivers.modbus.options import ModbusLink, Options

if TYPE_CHECKING:
    from iotgw.gateway.config import DeviceConfig
    from iotgw.gateway.pipeline import Source


def make_source(device: DeviceConfig) -> Source:
    """Raises: GatewayError naming the device when its map cannot be used."""
    from iotgw.gateway.drivers.modbus.source import ModbusSource

    return ModbusSource(device)


__all__ = ["ModbusLink", "Options", "make_source"]
