"""Errors of the edge agent."""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error raised by ``gateway``."""


class UnknownDriver(GatewayError):
    def __init__(self, device_id: str, driver: str, known: list[str]) -> None:
        super().__init__(f"device {device_id!r}: unknown driver {driver!r}; known: {known}")


class BufferUnavailable(GatewayError):
    """The durable buffer cannot be opened or written (disk full, corrupt file)."""


class DeviceReadError(GatewayError):
    """One read of one device failed (timeout, refused, a Modbus exception): the agent
    counts it, logs it and reads the device again at its next turn."""
