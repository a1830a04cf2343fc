"""The indicator catalogue (``catalogue.toml``): what is computed, and the plan line it serves.

The definitions (active device, platform use, attribution, denominators) are written in
the catalogue file itself, for the people who read the reports; the code follows them.
A catalogue is validated whole at load: unknown keys, organisation types, breakdowns or
formula parameters are errors naming the file, the line and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from iotgw.devices import load_config
from iotgw.registry import OrgType, Sector
from pydantic import BaseModel, ConfigDict, Field, model_validator

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")

Breakdown = Literal["province", "commune", "sector", "organisation_type", "gateway", "device"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Strict):
    seed: Annotated[str, Field(pattern=r"^\d{3}_[0-9a-f]+\.txt$")]
    line: Annotated[int, Field(ge=1)]
    quote: Annotated[str, Field(min_length=8)]  # verbatim, from the NFC text of that line


class Target(_Strict):
    value: float
    comparator: Literal[">=", ">", "<=", "<"]
    year: Annotated[int, Field(ge=2020, le=2100)]
    province: int | None = None  # where the plan is provincial
    note: str | None = None

    def met_by(self, value: float) -> bool:
        return {">=": value >= self.value, ">": value > self.value,
                "<=": value <= self.value, "<": value < self.value}[self.comparator]


class Formula(_Strict):
    """One of the computations of ``rollup.indicators``, with its filters.

    - ``organisation_share``: organisations of ``organisation_types`` with an active
      device (of ``device_profiles`` / ``device_sectors`` when given), or with platform use
      when ``platform_use``, over the denominator of the definitions;
    - ``ward_share``: communes/wards with an active device (filtered likewise) over the
      province's wards, or over ``wards`` when the plan names them;
    - ``active_devices``: a count of active devices (filtered likewise);
    - ``availability`` / ``completeness``: reporting quality, see the definitions.
    """

    kind: Literal["organisation_share", "ward_share", "active_devices", "availability",
                  "completeness"]
    organisation_types: list[OrgType] = []
    device_profiles: list[str] = []
    device_sectors: list[Sector] = []
    platform_use: bool = False
    wards: list[int] = []

    @model_validator(mode="after")
    def _parameters_fit_the_kind(self) -> Formula:
        if (self.kind == "organisation_share") != bool(self.organisation_types):
            raise ValueError("organisation_types is required by, and only by, organisation_share")
        if self.platform_use and self.kind != "organisation_share":
            raise ValueError("platform_use applies to organisation_share only")
        if self.wards and self.kind != "ward_share":
            raise ValueError("wards applies to ward_share only")
        if self.kind in ("availability", "completeness") and (
                self.device_profiles or self.device_sectors):
            raise ValueError(f"{self.kind} takes no filters")
        return self


class Indicator(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{2,63}$")]
    name_vi: str
    name_en: str
    kind: Literal["platform_usage", "iot_coverage", "data_quality"]
    unit: Literal["%", "devices"]
    formula: Formula
    numerator: str
    denominator: str | None = None
    breakdowns: Annotated[list[Breakdown], Field(min_length=1)]
    sources: Annotated[list[Source], Field(min_length=1)]
    targets: list[Target] = []

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        if "province" not in self.breakdowns:
            raise ValueError("every indicator is reported per province: add 'province'")
        is_count = self.formula.kind == "active_devices"
        if is_count != (self.unit == "devices"):
            raise ValueError("active_devices counts 'devices'; every other formula is a '%'")
        if is_count == (self.denominator is not None):
            raise ValueError("a share needs a denominator text, a count has none")
        return self


class Catalogue(_Strict):
    definitions: dict[str, str]
    indicators: Annotated[list[Indicator], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalogue:
        ids = [i.id for i in self.indicators]
        if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"duplicate indicator ids {duplicated}")
        return self

    def get(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(indicator_id)


def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Raises: ConfigError naming the file, the key and the line."""
    return load_config(path, Catalogue)
