"""The simulated driver: a ``gateway`` Source reading a signal model instead of hardware,
with the faults of field devices when configured (``FaultConfig``), each counted."""

from __future__ import annotations

import random
from collections import Counter

from iotgw.devices import Reading
from iotgw.gateway import DeviceConfig, GatewayError
from iotgw.gateway.config import FaultConfig
from iotgw.simulators.signals import SIGNALS


class UnknownProfile(GatewayError):
    """A simulated device names a profile with no signal model."""


class SimulatedSource:
    """Reads ``SIGNALS[profile]`` at the agent's timestamp; checkpoint = samples taken."""

    pushed = False

    def __init__(self, device: DeviceConfig) -> None:
        if device.profile not in SIGNALS:
            raise UnknownProfile(
                f"device {device.id!r}: no simulated profile {device.profile!r};"
                f" known: {sorted(SIGNALS)}"
            )
        self.device_id = device.id
        self.interval_s = device.interval_s
        self._signal = SIGNALS[device.profile]
        self._seed = device.seed
        self._limit = device.samples
        self._faults = device.faults
        self.faulted: Counter[str] = Counter()  # fault -> readings it touched
        self._last: dict[str, float] | None = None
        self.taken = 0

    @property
    def finished(self) -> bool:
        return self._limit is not None and self.taken >= self._limit

    def read(self, now_ms: int) -> list[Reading]:
        self.taken += 1
        values = self._signal(self.device_id, self._seed, now_ms)
        if self._faults is None:
            return [Reading(device=self.device_id, ts=now_ms, values=values)]
        return self._with_faults(now_ms, values, self._faults)

    def _with_faults(self, now_ms: int, values: dict[str, float], faults: FaultConfig) -> list[Reading]:
        rng = random.Random(f"faults:{self._seed}:{self.device_id}:{self.taken}")
        if rng.random() < faults.dropout:
            self.faulted["dropout"] += 1
            return []
        if self._last is not None and rng.random() < faults.stuck:
            self.faulted["stuck"] += 1
            values = dict(self._last)
        elif rng.random() < faults.spike:
            self.faulted["spike"] += 1
            name = rng.choice(sorted(values))
            values = {**values, name: values[name] * 5}
        self._last = values
        ts = now_ms + int(faults.clock_skew_s * 1000)
        if rng.random() < faults.epoch_1970:
            self.faulted["epoch_1970"] += 1
            ts = 1 + now_ms % 86_400_000  # a clock that started at 1970-01-01
        reading = Reading(device=self.device_id, ts=ts, values=values)
        if rng.random() < faults.duplicate:
            self.faulted["duplicate"] += 1
            return [reading, reading]
        return [reading]

    def checkpoint(self) -> str:
        return str(self.taken)

    def restore(self, checkpoint: str) -> None:
        self.taken = int(checkpoint)

    def committed(self) -> None:
        return None

    def close(self) -> None:
        return None
