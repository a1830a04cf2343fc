"""Report on change (see ``ReportConfig``): decides, reading by reading, what to publish."""

from __future__ import annotations

from iotgw.devices import Reading
from iotgw.gateway.config import ReportConfig


class ChangeFilter:
    def __init__(self, cfg: ReportConfig) -> None:
        self.cfg = cfg
        self._last: dict[str, float] | None = None
        self._last_ms = 0

    def wants(self, reading: Reading) -> bool:
        """True when the reading is to be published (and then it is the new reference)."""
        last = self._last
        changed = (
            last is None
            or reading.ts - self._last_ms >= self.cfg.max_silence_s * 1000
            or last.keys() != reading.values.keys()
            or any(abs(value - last[name]) > self.cfg.deadband.get(name, 0.0)
                   for name, value in reading.values.items())
        )
        if changed:
            self._last, self._last_ms = dict(reading.values), reading.ts
        return changed
