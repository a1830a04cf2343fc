"""Simulated devices: the signal models of ``simulators/`` read as if they were hardware,
for tests and demos (README.md). The simulators are imported by ``make_source`` only, so
a field gateway without a simulated device never loads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from iotgw.gateway.drivers.simulated.options import FaultConfig, Options

if TYPE_CHECKING:
    from iotgw.gateway.config import DeviceConfig
    from iotgw.gateway.pipeline import Source


def make_source(device: DeviceConfig) -> Source:
    """Raises: UnknownProfile (a GatewayError) for a profile without a signal model."""
    from iotgw.simulators.source import SimulatedSource

    return SimulatedSource(device)


__all__ = ["FaultConfig", "Options", "make_source"]
