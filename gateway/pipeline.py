"""What the agent needs of a device driver.

A driver is built from its device's config and read on the agent's schedule. Its
checkpoint is stored in the buffer in the same transaction as the readings it produced,
so that after a crash the driver resumes exactly where the buffer says it was: nothing
read twice, nothing skipped (a counter's last value, a simulated device's sample index).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from devices import Reading
from gateway.config import DeviceConfig


class Source(Protocol):
    device_id: str
    interval_s: float

    @property
    def finished(self) -> bool:
        """True when the source will produce nothing more (finite simulations)."""
        ...

    def read(self, now_ms: int) -> Reading | list[Reading]:
        """Read the device now; ``now_ms`` is the agent's timestamp for the reading. A
        source that collects pushed readings returns what arrived (a list, maybe empty),
        and may have a ``committed()`` method: called once the agent has committed them."""
        ...

    def checkpoint(self) -> str:
        """Opaque state to persist with the last reading."""
        ...

    def restore(self, checkpoint: str) -> None:
        """Resume from a persisted checkpoint."""
        ...


SourceFactory = Callable[[DeviceConfig], Source]
