"""The simulated driver: a ``gateway`` Source reading a signal model instead of hardware."""

from __future__ import annotations

from devices import Reading
from gateway import DeviceConfig, GatewayError
from simulators.signals import SIGNALS


class UnknownProfile(GatewayError):
    """A simulated device names a profile with no signal model."""


class SimulatedSource:
    """Reads ``SIGNALS[profile]`` at the agent's timestamp; checkpoint = samples taken."""

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
        self.taken = 0

    @property
    def finished(self) -> bool:
        return self._limit is not None and self.taken >= self._limit

    def read(self, now_ms: int) -> Reading:
        self.taken += 1
        return Reading(
            device=self.device_id, ts=now_ms, values=self._signal(self.device_id, self._seed, now_ms),
        )

    def checkpoint(self) -> str:
        return str(self.taken)

    def restore(self, checkpoint: str) -> None:
        self.taken = int(checkpoint)
