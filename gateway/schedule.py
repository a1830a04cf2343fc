"""Which devices are read when: the agent's sources built from the configuration, and
each one's fixed-rate schedule with its jitter (a slot missed in a stall is skipped)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from iotgw.gateway.config import DeviceConfig
from iotgw.gateway.drivers import driver_module
from iotgw.gateway.errors import UnknownDriver
from iotgw.gateway.pipeline import Source, SourceFactory
from iotgw.gateway.report import ChangeFilter


def build_sources(
    devices: Sequence[DeviceConfig], drivers: Mapping[str, SourceFactory] | None = None,
) -> list[Source]:
    """Each device's source, by its driver's ``make_source`` (``gateway/drivers/``), or by
    ``drivers`` when given (tests, tools that bring their own).

    Raises: UnknownDriver for a device whose driver is not in ``drivers``; GatewayError
    from a driver that cannot serve its device.
    """
    sources = []
    for device in devices:
        if drivers is None:
            factory: SourceFactory = driver_module(device.driver).make_source
        elif (given := drivers.get(device.driver)) is not None:
            factory = given
        else:
            raise UnknownDriver(device.id, device.driver, sorted(drivers))
        sources.append(factory(device))
    return sources


@dataclass
class Schedule:
    source: Source
    slot: float  # the fixed-rate time of the next read (monotonic)
    last_ms: int = 0
    report: ChangeFilter | None = None  # report on change, when configured
    jitter_s: float = 0.0
    due: float = field(init=False)  # the slot, plus up to jitter_s at random

    def __post_init__(self) -> None:
        self.due = self.slot + random.uniform(0, self.jitter_s)

    def next(self, now: float) -> None:
        """Fixed rate; after a stall, skip the missed slots rather than read in a burst."""
        self.slot += self.source.interval_s
        if self.slot <= now:
            self.slot = now + self.source.interval_s
        self.due = self.slot + random.uniform(0, self.jitter_s)
