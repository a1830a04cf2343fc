"""Readings held in memory while the durable buffer cannot be written (a read-only or failing
SD card): what keeps a gateway publishing instead of losing every new reading.

Bounded by ``capacity`` readings (``[buffer] memory_queue_readings``): when full, the
oldest queued reading is dropped and counted, so memory stays bounded through an outage of
any length. What is queued here is lost on a power cut or a restart: nothing here is on
disk. Readings taken out to be sent stay counted in ``in_flight`` until the broker answers:
a delivered batch is forgotten, an undelivered one goes back to the front of the queue.
"""

from __future__ import annotations

from collections import deque

from iotgw.devices import Reading


class MemoryQueue:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._queue: deque[Reading] = deque()
        self.in_flight = 0  # readings taken and not yet answered by the broker

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, readings: list[Reading]) -> int:
        """Queue readings; returns how many of the oldest were dropped to stay in capacity."""
        self._queue.extend(readings)
        dropped = max(0, len(self._queue) + self.in_flight - self.capacity)
        dropped = min(dropped, len(self._queue))
        for _ in range(dropped):
            self._queue.popleft()
        return dropped

    def take(self, max_readings: int, max_bytes: int) -> tuple[list[Reading], str] | None:
        """The oldest queued readings that fit one message, and their JSON joined by commas."""
        taken: list[Reading] = []
        parts: list[str] = []
        size = 0
        while self._queue and len(taken) < max_readings:
            text = self._queue[0].model_dump_json()
            if taken and size + len(text) + len(taken) > max_bytes:
                break
            taken.append(self._queue.popleft())
            parts.append(text)
            size += len(text)
        if not taken:
            return None
        self.in_flight += len(taken)
        return taken, ",".join(parts)

    def answered(self, readings: list[Reading], delivered: bool) -> None:
        """The broker answered a batch from here: forget it, or queue it again, first."""
        self.in_flight -= len(readings)
        if not delivered:
            self._queue.extendleft(reversed(readings))

    def drain(self) -> list[Reading]:
        """Everything queued (not in flight), oldest first, and the queue emptied."""
        out = list(self._queue)
        self._queue.clear()
        return out
