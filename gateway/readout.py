"""One read of every configured device, as ``telegraf --test`` does: what ``iotgw gateway
test`` shows an installer checking wiring, addresses and register maps before the agent
runs. Nothing is buffered or published, and no broker is needed.

A polled device is read once; a failed read is the driver's error, as the agent would log
it. A pushed device (an MQTT node) is read until something arrives or ``wait_s`` passes;
what it sent is not acknowledged, so the node's broker keeps it for the agent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from iotgw.devices import QUANTITIES, Reading
from iotgw.gateway.config import DeviceConfig
from iotgw.gateway.errors import GatewayError
from iotgw.gateway.pipeline import Source
from iotgw.gateway.schedule import build_sources

_PUSH_POLL_S = 0.1


@dataclass(frozen=True)
class DeviceRead:
    device: str
    driver: str
    readings: list[Reading] = field(default_factory=list)
    error: str | None = None  # the source could not be built, or the read failed
    note: str | None = None  # nothing wrong, nothing read (a node that did not send)

    @property
    def ok(self) -> bool:
        return self.error is None


def read_once(devices: Sequence[DeviceConfig], *, wait_s: float = 5.0,
              clock: Callable[[], float] = time.time) -> list[DeviceRead]:
    """Each device read once, in the order of the configuration; every source is closed."""
    return [_read_device(device, wait_s, clock) for device in devices]


def _read_device(device: DeviceConfig, wait_s: float, clock: Callable[[], float]) -> DeviceRead:
    try:
        [source] = build_sources([device])
    except GatewayError as exc:
        return DeviceRead(device.id, device.driver, error=str(exc))
    try:
        readings = _pushed(source, wait_s, clock) if source.pushed else source.read(int(clock() * 1000))
    except GatewayError as exc:  # DeviceReadError, or a driver's own
        return DeviceRead(device.id, device.driver, error=str(exc))
    finally:
        source.close()
    note = None if readings else (f"nothing arrived within {wait_s:g} s" if source.pushed
                                  else "the read gave no reading")
    return DeviceRead(device.id, device.driver, readings, note=note)


def _pushed(source: Source, wait_s: float, clock: Callable[[], float]) -> list[Reading]:
    deadline = time.monotonic() + wait_s
    while True:
        readings = source.read(int(clock() * 1000))
        if readings or time.monotonic() >= deadline:
            return readings
        time.sleep(_PUSH_POLL_S)


def table_rows(results: Sequence[DeviceRead]) -> list[tuple[str, str, str, str, str, str]]:
    """(device, quantity, value, unit, quality, error or note): one row per value, one
    row for a device without any."""
    rows = []
    for result in results:
        for reading in result.readings:
            for name, value in sorted(reading.values.items()):
                rows.append((result.device, name, f"{value:g}", QUANTITIES[name].unit,
                             reading.quality.value, ""))
        if not result.readings:
            rows.append((result.device, "", "", "", "", result.error or result.note or ""))
    return rows


def as_json(results: Sequence[DeviceRead]) -> list[dict[str, Any]]:
    return [{"device": r.device, "driver": r.driver, "ok": r.ok, "error": r.error, "note": r.note,
             "readings": [{"ts": reading.ts, "quality": reading.quality.value,
                           "values": {name: {"value": value, "unit": QUANTITIES[name].unit}
                                      for name, value in sorted(reading.values.items())}}
                          for reading in r.readings]}
            for r in results]
