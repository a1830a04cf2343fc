"""What the agent needs of a device driver.

A driver is built from its device's config and read on the agent's schedule. Its
checkpoint is stored in the buffer in the same transaction as the readings it produced,
so that after a crash the driver resumes exactly where the buffer says it was: nothing
read twice, nothing skipped (a counter's last value, a simulated device's sample index).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from iotgw.devices import Reading
from iotgw.gateway.config import DeviceConfig


class Source(Protocol):
    """Every source has every method; one that has nothing to do in one makes it a no-op."""

    device_id: str
    interval_s: float
    # Readings pushed by a node carry the node's own timestamps (the agent does not stamp
    # them), and the node may let them go only once they are in the buffer (``committed``).
    pushed: bool

    @property
    def finished(self) -> bool:
        """True when the source will produce nothing more (finite simulations)."""
        ...

    def read(self, now_ms: int) -> list[Reading]:
        """Read the device now; ``now_ms`` is the agent's timestamp for polled readings.
        A pushed source returns what arrived since the last turn (maybe nothing)."""
        ...

    def committed(self) -> None:
        """What the last ``read`` returned is committed to the buffer."""
        ...

    def checkpoint(self) -> str:
        """Opaque state to persist with the last reading."""
        ...

    def restore(self, checkpoint: str) -> None:
        """Resume from a persisted checkpoint."""
        ...

    def close(self) -> None:
        """Release connections (a reload replaces the sources)."""
        ...


SourceFactory = Callable[[DeviceConfig], Source]
