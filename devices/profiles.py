"""The one catalogue of device profiles (``profiles.toml``): every other part validates the
profile names it is given against it, so that the registry, the gateways, the scenarios
and the indicator catalogue cannot drift apart (``three_phase_meter`` in a gateway while
the indicators count ``electricity_meter``).

A profile is the purpose of a device, not its make: the device library
(``devices/library/``) maps a model's registers to the quantities of one profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from iotgw.devices.config_files import load_config
from iotgw.devices.quantities import QUANTITIES, Quantity
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

PROFILES_PATH = Path(__file__).with_name("profiles.toml")

# The registry's sectors (registry.Sector); devices imports nothing of ours, so the test
# of the catalogue checks the two lists agree.
SectorName = Literal["agriculture", "aquaculture", "environment", "energy", "water", "industry", "urban"]


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    sector: SectorName
    interval_s: Annotated[int, Field(gt=0)]  # the default: how often a device reports
    label_vi: Annotated[str, Field(min_length=1)]
    label_en: Annotated[str, Field(min_length=1)]
    quantities: Annotated[list[str], Field(min_length=1)]  # what a device of it may give

    @field_validator("quantities")
    @classmethod
    def _known_quantities(cls, quantities: list[str]) -> list[str]:
        if unknown := sorted(set(quantities) - QUANTITIES.keys()):
            raise ValueError(f"unknown quantities {unknown}; known: {sorted(QUANTITIES)}")
        if len(set(quantities)) != len(quantities):
            raise ValueError("a quantity appears twice")
        return quantities

    def quantity(self, name: str) -> Quantity:
        """One of the profile's quantities, with its unit and kind (gauge or counter)."""
        return QUANTITIES[name]


class ProfileCatalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    profiles: Annotated[list[Profile], Field(min_length=1)]

    @model_validator(mode="after")
    def _defined_once(self) -> ProfileCatalogue:
        names = [p.name for p in self.profiles]
        if twice := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"profiles defined twice: {twice}")
        return self


def load_profiles(path: Path = PROFILES_PATH) -> dict[str, Profile]:
    """Raises: ConfigError naming the file, the line and the key."""
    return {p.name: p for p in load_config(path, ProfileCatalogue).profiles}


PROFILES: dict[str, Profile] = load_profiles()


def check_profile(name: str) -> str:
    """``name`` if it is a profile of the catalogue; a pydantic validator, so that a config
    file's or a CSV row's error names its line or row."""
    if name not in PROFILES:
        raise ValueError(f"unknown device profile {name!r}; known: {sorted(PROFILES)}"
                         f" (devices/profiles.toml)")
    return name


ProfileName = Annotated[str, AfterValidator(check_profile)]
"""A profile name, validated against the catalogue."""
