"""The driver table: each driver is a plugin folder ``gateway/drivers/<name>/`` (code,
README, ``sample.toml``, tests under ``tests/gateway/drivers/<name>/``), registered here by
name and module path, as Telegraf registers its inputs in one list rather than scanning
folders.

A driver's ``__init__.py`` exposes two names:

- ``Options``: a pydantic model of the driver's own keys of a ``[[devices]]`` table, with
  ``driver: Literal["<name>"]``. ``gateway/config.py`` joins it to the keys every device has
  (``DeviceConfig``), and the device tables of a file are a union discriminated on
  ``driver``, so each device's options are checked when the file is loaded.
- ``make_source(device) -> Source``: the driver's source for one configured device.

The module is imported with the configuration, so it imports only its options; the code
that talks to devices and its third-party client (pymodbus, paho-mqtt, the simulators) are
imported by ``make_source``, the first time a configured device needs them. A field
gateway thus loads only the clients of the drivers its configuration names.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# name -> module: adding a driver is one line.
DRIVERS: dict[str, str] = {
    "modbus": "iotgw.gateway.drivers.modbus",
    "mqtt_node": "iotgw.gateway.drivers.mqtt_node",
    "simulated": "iotgw.gateway.drivers.simulated",
    "lorawan": "iotgw.gateway.drivers.lorawan",
    "opcua": "iotgw.gateway.drivers.opcua",
}


def driver_module(name: str) -> ModuleType:
    """The plugin module of driver ``name`` (imported the first time, then Python's copy).

    Raises:
        KeyError: no driver of that name in ``DRIVERS``.
    """
    return importlib.import_module(DRIVERS[name])


__all__ = ["DRIVERS", "driver_module"]
