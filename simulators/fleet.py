"""Simulated fleets: gateway configurations for N gateways of M simulated devices each."""

from __future__ import annotations

from pathlib import Path

import tomli_w
from iotgw.gateway import DeviceConfig, GatewayConfig
from iotgw.gateway.config import BrokerConfig, BufferConfig
from iotgw.simulators.signals import SIGNALS
from pydantic import BaseModel

PROFILES = tuple(SIGNALS)


def simulated_fleet(
    gateways: int, devices_per_gateway: int, *, broker: BrokerConfig, buffer_dir: Path,
    interval_s: float, samples: int | None = None, prefix: str = "gw",
) -> list[GatewayConfig]:
    """Gateways ``{prefix}-001``...; devices cycle through the signal models' profiles."""
    fleet = []
    for g in range(1, gateways + 1):
        gateway_id = f"{prefix}-{g:03d}"
        devices = [
            DeviceConfig(
                id=f"{gateway_id}-d{d:03d}", driver="simulated",
                profile=PROFILES[d % len(PROFILES)], interval_s=interval_s,
                samples=samples, seed=g * 1_000 + d,
            )
            for d in range(devices_per_gateway)
        ]
        fleet.append(GatewayConfig(
            gateway_id=gateway_id, broker=broker,
            buffer=BufferConfig(path=buffer_dir / f"{gateway_id}.sqlite"), devices=devices,
        ))
    return fleet


def config_text(config: BaseModel) -> str:
    """Any service's config model as the TOML its ``--config`` option reads."""
    return tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))


def write_config(config: BaseModel, path: Path) -> Path:
    path.write_text(config_text(config))
    return path
