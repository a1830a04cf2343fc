"""Province scenarios: who has which devices where, read from a TOML file.

A scenario (``simulators/scenarios/*.toml``) lists kinds of sites (rice farms, salinity
stations, households with smart meters ...) with a count, the device profiles a site has,
the share of sites that have any (the rest are registered but not yet equipped, so that
the indicators' shares are not all 100 %) and the communes they lie in, by their names in
``vietnam-provinces``. ``build_fleet`` turns it into organisations, gateways and devices:
deterministic for a seed, and ``scale`` multiplies every count (tens to tens of thousands
of devices from one file). Sites of one commune share gateways, as a data concentrator or
a LoRa gateway serves a commune in the field.

Organisation types and sectors are the registry's values; they are checked when the fleet
is registered (``iotgw`` does it: this package does not import the registry).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from iotgw.devices import ConfigError, load_config
from iotgw.gateway.config import BrokerConfig, BufferConfig, DeviceConfig, FaultConfig, GatewayConfig
from iotgw.simulators.signals import SIGNALS
from pydantic import BaseModel, ConfigDict, Field, field_validator
from vietnam_provinces import Ward as VnWard

SCENARIOS = Path(__file__).parent / "scenarios"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SiteKind(_Strict):
    kind: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,24}$")]  # in ids: dt-rice_farm-0001
    name: str  # Vietnamese, for the registry's organisation names
    org_type: str | None = None  # None: a station with no owner organisation registered
    sector: str
    count: Annotated[int, Field(ge=1)]
    with_devices: Annotated[float, Field(ge=0, le=1)] = 1.0
    devices: Annotated[list[str], Field(min_length=1)]
    communes: list[str] = []  # empty: anywhere in the province

    @field_validator("devices")
    @classmethod
    def _simulated_profiles(cls, devices: list[str]) -> list[str]:
        unknown = sorted(set(devices) - SIGNALS.keys())
        if unknown:
            raise ValueError(f"no signal model for {unknown}; known: {sorted(SIGNALS)}")
        return devices


class GatewayFaults(_Strict):
    """Faults of whole gateways, beside the devices' own (``device``)."""

    device: FaultConfig | None = None
    # A gateway loses power on a given day with this probability, for offline_hours:
    # nothing is read or sent meanwhile (what the availability indicator is for).
    offline_per_day: Annotated[float, Field(ge=0, le=1)] = 0.0
    offline_hours: Annotated[float, Field(gt=0, le=24)] = 4.0
    # Payloads a broken firmware sends on the gateway's topic; ingest must dead-letter them.
    malformed_per_day: Annotated[float, Field(ge=0)] = 0.0


class Scenario(_Strict):
    name: str
    province: Annotated[int, Field(ge=1)]
    id_prefix: Annotated[str, Field(pattern=r"^[a-z]{2,4}$")]
    seed: int = 0
    interval_s: Annotated[int, Field(ge=1)] = 300  # how often devices report, and are expected to
    devices_per_gateway: Annotated[int, Field(ge=1, le=1_000)] = 8
    sites: Annotated[list[SiteKind], Field(min_length=1)]
    faults: GatewayFaults = GatewayFaults()


@dataclass(frozen=True, slots=True)
class SimOrganisation:
    id: str
    name: str
    org_type: str
    sector: str
    ward_code: int


@dataclass(frozen=True, slots=True)
class SimDevice:
    id: str
    profile: str
    sector: str
    organisation_id: str | None
    seed: int


@dataclass(frozen=True, slots=True)
class SimGateway:
    id: str
    ward_code: int
    devices: tuple[SimDevice, ...]


@dataclass(frozen=True, slots=True)
class Fleet:
    scenario: Scenario
    organisations: tuple[SimOrganisation, ...]
    gateways: tuple[SimGateway, ...]

    @property
    def devices(self) -> int:
        return sum(len(g.devices) for g in self.gateways)


def scenario_path(name_or_path: str) -> Path:
    """A bundled scenario by name (``dong_thap``), or a file."""
    bundled = SCENARIOS / f"{name_or_path}.toml"
    return bundled if bundled.is_file() else Path(name_or_path)


def bundled_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.toml"))


def load_scenario(name_or_path: str) -> Scenario:
    """Raises: ConfigError naming the file, the key and the line, or an unknown commune."""
    path = scenario_path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"{name_or_path}: no such scenario file; bundled: {bundled_scenarios()}")
    scenario = load_config(path, Scenario)
    wards = province_wards(scenario.province)
    if not wards:
        raise ConfigError(f"{path}: province {scenario.province} is not one of the 34 provinces")
    for i, site in enumerate(scenario.sites):
        unknown = [c for c in site.communes if _key(c) not in wards]
        if unknown:
            raise ConfigError(f"{path}: sites.{i}.communes: {unknown} are not communes or wards"
                              f" of province {scenario.province} (names as in vietnam-provinces)")
    return scenario


def _key(name: str) -> str:
    return " ".join(name.split())  # the library has a few names with a double space


def province_wards(province: int) -> dict[str, int]:
    """Name -> code of the province's communes and wards."""
    return {_key(w.name): w.code.value for w in VnWard.iter_all() if w.province_code.value == province}


def build_fleet(scenario: Scenario, *, scale: float = 1.0) -> Fleet:
    """Organisations, gateways and devices of ``scenario``, every count times ``scale``."""
    rng = random.Random(f"scenario:{scenario.seed}:{scenario.province}")
    wards = province_wards(scenario.province)
    anywhere = sorted(wards.values())
    organisations: list[SimOrganisation] = []
    by_ward: dict[int, list[SimDevice]] = {}
    for site in scenario.sites:
        count = max(1, round(site.count * scale))
        equipped = round(count * site.with_devices)
        communes = [wards[_key(c)] for c in site.communes] or anywhere
        for n in range(count):
            site_id = f"{scenario.id_prefix}-{site.kind}-{n + 1:04d}"
            ward = communes[n % len(communes)] if site.communes else rng.choice(communes)
            org_id = None
            if site.org_type is not None:
                org_id = site_id
                organisations.append(SimOrganisation(org_id, f"{site.name} {n + 1}", site.org_type,
                                                     site.sector, ward))
            if n >= equipped:
                continue
            by_ward.setdefault(ward, []).extend(
                SimDevice(f"{site_id}-d{j}", profile, site.sector, org_id, rng.randrange(1 << 30))
                for j, profile in enumerate(site.devices, start=1))
    gateways = []
    size = scenario.devices_per_gateway
    for ward, devices in sorted(by_ward.items()):
        for k in range(0, len(devices), size):
            gateways.append(SimGateway(f"{scenario.id_prefix}-gw-{ward}-{k // size + 1}", ward,
                                       tuple(devices[k:k + size])))
    return Fleet(scenario, tuple(organisations), tuple(gateways))


def gateway_configs(
    fleet: Fleet, *, broker: BrokerConfig, buffer_dir: Path, interval_s: float,
) -> list[GatewayConfig]:
    """The agents' configurations: live readings every ``interval_s``, the scenario's faults."""
    return [
        GatewayConfig(
            gateway_id=gw.id, broker=broker, buffer=BufferConfig(path=buffer_dir / f"{gw.id}.sqlite"),
            devices=[DeviceConfig(id=d.id, driver="simulated", profile=d.profile, interval_s=interval_s,
                                  jitter_s=interval_s / 2, seed=d.seed, faults=fleet.scenario.faults.device)
                     for d in gw.devices],
        )
        for gw in fleet.gateways
    ]
