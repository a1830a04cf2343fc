"""Simulated devices and fleets that drive tests, benchmarks and demos."""

from simulators.fleet import simulated_fleet, write_config
from simulators.signals import SIGNALS, Signal
from simulators.source import SimulatedSource, UnknownProfile

__all__ = [
    "SIGNALS",
    "Signal",
    "SimulatedSource",
    "UnknownProfile",
    "simulated_fleet",
    "write_config",
]
