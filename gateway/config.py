"""The edge agent's configuration file (TOML), validated once at load time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from iotgw.devices import QUANTITIES, Host, load_config
from iotgw.devices.links import BrokerLink, Frozen
from iotgw.devices.profiles import ProfileName
from iotgw.devices.register_maps import library
from iotgw.devices.telemetry import EntityId
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


class ModbusLink(Frozen):
    """How to reach a Modbus device: ``host`` (Modbus TCP) or ``serial_port`` (RTU)."""

    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    serial_port: str | None = None
    baudrate: Annotated[int, Field(ge=1200, le=921_600)] = 9600
    parity: Literal["N", "E", "O"] = "N"
    unit_id: Annotated[int, Field(ge=0, le=247)] = 1
    # A dead device holds up the poll loop this long per try: keep it short.
    timeout_s: Annotated[float, Field(gt=0, le=10)] = 1.0
    # The register map: a model of the device library (devices/library/, e.g.
    # "eastron_sdm630m"), or the path of a map file of one's own (devices/library/README.md).
    model: str | None = None
    map: Path | None = None

    @model_validator(mode="after")
    def _one_transport_and_one_map(self) -> ModbusLink:
        if (self.host is None) == (self.serial_port is None):
            raise ValueError("give either host (Modbus TCP) or serial_port (Modbus RTU)")
        if (self.model is None) == (self.map is None):
            raise ValueError("give either model (of the device library) or map (a map file)")
        if self.model is not None and self.model not in library():
            raise ValueError(f"no model {self.model!r} in the device library; known: {sorted(library())}")
        return self


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


class MqttNodeLink(Frozen):
    """The gateway's local broker, where microcontroller nodes publish (firmware_stubs/)."""

    host: Host = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883


class FaultConfig(Frozen):
    """Simulated devices only: faults a field device shows, each a probability per reading
    (drawn from the device's seed, so a run is repeatable) and counted by the simulator."""

    dropout: Annotated[float, Field(ge=0, le=1)] = 0.0  # no reading this turn
    stuck: Annotated[float, Field(ge=0, le=1)] = 0.0  # the previous values again
    spike: Annotated[float, Field(ge=0, le=1)] = 0.0  # one value jumps to 5 times itself
    duplicate: Annotated[float, Field(ge=0, le=1)] = 0.0  # the same reading sent twice
    epoch_1970: Annotated[float, Field(ge=0, le=1)] = 0.0  # a clock that was never set
    clock_skew_s: float = 0.0  # the device's clock runs this far ahead (negative: behind)


class DeviceConfig(Frozen):
    id: EntityId
    driver: str
    profile: ProfileName  # of devices/profiles.toml
    interval_s: Annotated[float, Field(gt=0)]
    # Each read happens up to this long after its slot, at random, so that devices on one
    # bus or one gateway do not all read at the same instant (the rate stays interval_s).
    jitter_s: Annotated[float, Field(ge=0)] = 0.0
    # Simulated devices only: stop after this many samples (tests, demos).
    samples: Annotated[int, Field(ge=1)] | None = None
    seed: int = 0
    faults: FaultConfig | None = None  # simulated devices only
    modbus: ModbusLink | None = None  # the modbus driver's connection
    mqtt_node: MqttNodeLink | None = None  # the mqtt_node driver's local broker
    report: ReportConfig | None = None  # None: every reading is published

    @model_validator(mode="after")
    def _jitter_within_the_interval(self) -> DeviceConfig:
        if self.jitter_s >= self.interval_s:
            raise ValueError(f"jitter_s ({self.jitter_s}) must be below interval_s ({self.interval_s})")
        return self


class GatewayConfig(Frozen):
    version: Literal[1] = 1
    gateway_id: EntityId
    broker: BrokerConfig = BrokerConfig()
    buffer: BufferConfig
    publish: PublishConfig = PublishConfig()
    clock: ClockConfig = ClockConfig()
    devices: Annotated[list[DeviceConfig], Field(min_length=1)]

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
    """Raises: ConfigError naming the file, the key and the line."""
    config = load_config(path, GatewayConfig)
    if config.broker.tls is None:
        return config
    tls = config.broker.tls.relative_to(path.parent)
    return config.model_copy(update={"broker": config.broker.model_copy(update={"tls": tls})})
