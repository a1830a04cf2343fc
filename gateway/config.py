"""The edge agent's configuration file (TOML), validated once at load time."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union, cast

from iotgw.devices import QUANTITIES, ConfigError, load_config
from iotgw.devices.links import BrokerLink, Frozen
from iotgw.devices.profiles import ProfileName
from iotgw.devices.telemetry import EntityId
from iotgw.gateway.drivers import DRIVERS, driver_module

# The drivers' option models, importable from here as before the drivers were plugins.
from iotgw.gateway.drivers.modbus.options import ModbusLink as ModbusLink
from iotgw.gateway.drivers.mqtt_node.options import MqttNodeLink as MqttNodeLink
from iotgw.gateway.drivers.simulated.options import FaultConfig as FaultConfig
from pydantic import Field, field_validator, model_validator


class BrokerConfig(BrokerLink):
    reconnect_min_s: Annotated[float, Field(gt=0)] = 1.0
    reconnect_max_s: Annotated[float, Field(gt=0)] = 60.0
    # Another client with this id (a cloned SD card): the broker closing this session this
    # many times within takeover_window_s, each time taking the reconnection at once, is a conflict;
    # the reconnect delay then starts at reconnect_max_s and doubles per takeover up to
    # takeover_backoff_max_s (see gateway/takeover.py).
    takeover_count: Annotated[int, Field(ge=2)] = 3
    takeover_window_s: Annotated[float, Field(gt=0)] = 300.0
    takeover_backoff_max_s: Annotated[float, Field(gt=0)] = 600.0


class BufferConfig(Frozen):
    path: Path
    # "full" fsyncs every group commit, so a reading read before a power cut is still
    # there after it; "normal" spares SD cards at the risk of the last commits.
    synchronous: Literal["full", "normal"] = "full"
    # Bounds, so that a long outage cannot fill the SD card (see gateway/buffer.py).
    max_bytes: Annotated[int, Field(ge=4_096)] = 256 * 1024 * 1024
    max_age_s: Annotated[float, Field(gt=0)] | None = 90 * 86_400
    when_full: Literal["drop_oldest", "refuse_new"] = "drop_oldest"
    # New readings are refused (counted) while the disk has less free than this: the room
    # SQLite needs to delete acknowledged readings, so that the buffer can empty again.
    min_free_bytes: Annotated[int, Field(ge=0)] = 16 * 1024 * 1024
    # Readings held in memory while the buffer cannot be written (read-only or failing SD
    # card); when full the oldest are dropped (counted, ``memory_dropped``). Lost on a power cut.
    memory_queue_readings: Annotated[int, Field(ge=0)] = 10_000
    # End-to-end acknowledgement (gateway/handover.py): a reading is deleted once ingest
    # says it is stored (iot/v1/{gateway}/stored), not on the broker's PUBACK; false is the
    # PUBACK rule of the earlier contract. What the broker took and ingest has not confirmed
    # within stored_timeout_s is sent again, flagged replay (it is also sent again on every
    # reconnect).
    stored_ack: bool = True
    stored_timeout_s: Annotated[float, Field(gt=0)] = 600.0


class PublishConfig(Frozen):
    max_readings_per_batch: Annotated[int, Field(ge=1, le=10_000)] = 500
    max_batch_bytes: Annotated[int, Field(ge=1_024, le=16_000_000)] = 256_000
    # Batches sent and not yet acknowledged by the broker (PUBACK); bounds memory.
    inflight_window: Annotated[int, Field(ge=1, le=1_000)] = 20
    # Retained status with the health numbers, every this many seconds.
    heartbeat_s: Annotated[float, Field(gt=0)] = 60.0


class ClockConfig(Frozen):
    """When the wall clock is trusted (see ``gateway/clock.py``). A time before 2025 never
    is. With ``require_sync``, the kernel must also say the clock is synchronised (NTP):
    right for a field gateway without a real-time clock that reaches an NTP server; leave
    it off where the kernel cannot know (some virtual machines) or no NTP is reachable."""

    require_sync: bool = False


class ReportConfig(Frozen):
    """Report on change: a reading is published only when a value moved by more than its
    deadband since the last published reading, or ``max_silence_s`` passed since then (so
    a steady device still shows it is alive). Quantities without a deadband report any
    change. Suppressed readings are counted (``suppressed`` in the heartbeat)."""

    deadband: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    max_silence_s: Annotated[float, Field(gt=0)] = 900.0

    @field_validator("deadband")
    @classmethod
    def _known_quantities(cls, deadband: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(deadband) - QUANTITIES.keys())
        if unknown:
            raise ValueError(f"unknown quantities {unknown}; known: {sorted(QUANTITIES)}")
        return deadband


class _ByDriver(type(Frozen)):  # type: ignore[misc]
    """``DeviceConfig(driver="modbus", ...)`` builds the modbus driver's device model, so
    that code writing configurations (scenarios, provisioning, tests) names the driver the
    way a file does."""

    def __call__(cls, *args: Any, **data: Any) -> Any:
        if cls is DeviceConfig and "driver" in data:
            cls = device_model(data["driver"])
        return super().__call__(*args, **data)


class DeviceConfig(Frozen, metaclass=_ByDriver):
    """The keys every device has; each driver's ``Options`` adds its own (gateway/drivers/)."""

    id: EntityId
    driver: str
    profile: ProfileName  # of devices/profiles.toml
    interval_s: Annotated[float, Field(gt=0)]
    # Each read happens up to this long after its slot, at random, so that devices on one
    # bus or one gateway do not all read at the same instant (the rate stays interval_s).
    jitter_s: Annotated[float, Field(ge=0)] = 0.0
    report: ReportConfig | None = None  # None: every reading is published

    @model_validator(mode="after")
    def _jitter_within_the_interval(self) -> DeviceConfig:
        if self.jitter_s >= self.interval_s:
            raise ValueError(f"jitter_s ({self.jitter_s}) must be below interval_s ({self.interval_s})")
        return self

    def relative_to(self, folder: Path) -> DeviceConfig:
        """Paths of the driver's options anchored at the configuration file's ``folder`` (a
        driver with paths overrides this)."""
        return self


@cache
def device_model(driver: str) -> type[DeviceConfig]:
    """The device model of ``driver``: its ``Options`` (first, so its ``driver`` literal is
    the field) joined to ``DeviceConfig``.

    Raises:
        ValueError: no such driver (a configuration error where the name was written).
    """
    if driver not in DRIVERS:
        raise ValueError(f"unknown driver {driver!r}; known: {sorted(DRIVERS)}")
    options = driver_module(driver).Options
    name = "".join(part.title() for part in driver.split("_")) + "Device"
    return cast(type[DeviceConfig], type(name, (options, DeviceConfig), {"__module__": __name__}))


# A [[devices]] table: the model its ``driver`` names, checked with that driver's options.
AnyDevice = Annotated[Union[tuple(device_model(name) for name in DRIVERS)],  # noqa: UP007
                      Field(discriminator="driver")]


class GatewayConfig(Frozen):
    version: Literal[1] = 1
    gateway_id: EntityId
    broker: BrokerConfig = BrokerConfig()
    buffer: BufferConfig
    publish: PublishConfig = PublishConfig()
    clock: ClockConfig = ClockConfig()
    devices: Annotated[list[AnyDevice], Field(min_length=1)]

    @field_validator("devices")
    @classmethod
    def _unique_device_ids(cls, devices: list[DeviceConfig]) -> list[DeviceConfig]:
        seen: set[str] = set()
        for device in devices:
            if device.id in seen:
                raise ValueError(f"device id {device.id!r} appears twice")
            seen.add(device.id)
        return devices


def load_gateway_config(path: Path) -> GatewayConfig:
    """Paths in the file (certificates, map files) are taken from the file's folder.

    Raises: ConfigError naming the file, the key and the line.
    """
    try:
        config = load_config(path, GatewayConfig)
    except ConfigError as exc:
        raise ConfigError(_without_tags(str(exc))) from exc
    folder = path.parent
    tls = config.broker.tls and config.broker.tls.relative_to(folder)
    return config.model_copy(update={
        "broker": config.broker.model_copy(update={"tls": tls}),
        "devices": [device.relative_to(folder) for device in config.devices]})


_TAG = re.compile(rf"(devices\.\d+)\.(?:{'|'.join(map(re.escape, DRIVERS))})\b(\.|:)")


def _without_tags(message: str) -> str:
    """pydantic puts the union's tag after the device's index (``devices.0.modbus.modbus.port``):
    the key path as written in the file has none (``devices.0.modbus.port``)."""
    return _TAG.sub(r"\1\2", message)
