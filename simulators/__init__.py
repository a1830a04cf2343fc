"""Simulated devices and fleets that drive tests, benchmarks and demos."""

from iotgw.simulators.fleet import simulated_fleet, write_config
from iotgw.simulators.signals import SIGNALS, Signal
from iotgw.simulators.source import SimulatedSource, UnknownProfile

__all__ = [
    "SIGNALS",
    "Signal",
    "SimulatedSource",
    "UnknownProfile",
    "simulated_fleet",
    "write_config",
]
