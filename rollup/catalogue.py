"""The indicator catalogue (``catalogue.toml``): what is computed, and the plan line it serves.

The definitions (active device, platform use, attribution, denominators, evidence) are
written in the catalogue file itself, for the people who read the reports; the code follows
them. A catalogue is validated whole at load: unknown keys, organisation types, breakdowns
or formula parameters are errors naming the file, the line and the key.

Each plan names the area it was written for (``[[plans]]``): today's province, or the wards
of today's province that made up a former province (a plan written before the 2025
reorganisation). A target names its plan and line; its area is resolved from the plan at
load, and its values are those of that area: level ``province`` (unit: the province code)
or level ``plan_area`` (unit: the plan's id).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from iotgw.devices import load_config
from iotgw.devices.profiles import ProfileName
from iotgw.registry import OrgType, Sector
from pydantic import BaseModel, ConfigDict, Field, model_validator

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")

Breakdown = Literal["province", "commune", "sector", "organisation_type", "gateway", "device",
                    "plan_area"]
# What counts as evidence (definitions.evidence): an active device, use of this platform, a
# dated declaration or assessment per organisation, an authoritative N of M per area.
Evidence = Literal["telemetry", "platform_use", "declaration", "aggregate"]
PER_ORGANISATION: frozenset[str] = frozenset({"telemetry", "platform_use", "declaration"})
PlanId = Annotated[str, Field(pattern=r"^\d{3}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Strict):
    seed: Annotated[str, Field(pattern=r"^\d{3}_[0-9a-f]+\.txt$")]
    line: Annotated[int, Field(ge=1)]
    quote: Annotated[str, Field(min_length=8)]  # verbatim, from the NFC text of that line


class Plan(_Strict):
    """A plan and the area it was written for."""

    id: PlanId  # the seed's number
    seed: Annotated[str, Field(pattern=r"^\d{3}_[0-9a-f]+\.txt$")]
    title: str
    province: int  # today's province (2025 code) the plan's area is in
    # A pre-2025 province code: the plan is scored on the wards of ``province`` that made it up.
    former_province: int | None = None
    baseline_year: Annotated[int, Field(ge=2015, le=2100)]  # the year before the plan's first

    @model_validator(mode="after")
    def _seed_is_the_plan(self) -> Plan:
        if not self.seed.startswith(self.id + "_"):
            raise ValueError(f"plan {self.id}: seed {self.seed} is another plan's")
        return self


class Target(_Strict):
    value: float
    comparator: Literal[">=", ">", "<=", "<"]
    year: Annotated[int, Field(ge=2020, le=2100)]
    plan: PlanId
    line: Annotated[int, Field(ge=1)]  # the plan line that sets it (one of the sources)
    # The plan's own measure: the evidence kinds its figure is made of (empty: every kind
    # the indicator counts). "met" and progress are judged on these kinds' part only.
    evidence: list[Evidence] = []
    note: str | None = None
    # Resolved from the plan at load (a value written in the file must agree with it).
    province: int
    former_province: int | None = None
    baseline_year: int

    @property
    def level(self) -> str:
        return "plan_area" if self.former_province is not None else "province"

    @property
    def unit(self) -> str:
        return self.plan if self.former_province is not None else str(self.province)

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
    - ``availability`` / ``completeness``: reporting quality, see the definitions;
    - ``aggregate_share``: an authoritative N of M imported for the area and year
      (registry ``aggregate_counts`` of ``measure``).

    ``evidence`` says what counts (default: telemetry, or aggregate for
    ``aggregate_share``): an organisation counts in ``organisation_share`` when any listed
    kind holds for it; ``declaration`` counts the organisations whose latest declaration
    on ``declares`` holds (definitions.declaration).
    """

    kind: Literal["organisation_share", "ward_share", "active_devices", "availability",
                  "completeness", "aggregate_share"]
    organisation_types: list[OrgType] = []
    device_profiles: list[ProfileName] = []  # of devices/profiles.toml
    device_sectors: list[Sector] = []
    evidence: Annotated[list[Evidence], Field(min_length=1)]
    declares: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")] | None = None
    measure: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")] | None = None
    wards: list[int] = []

    @model_validator(mode="before")
    @classmethod
    def _default_evidence(cls, data: object) -> object:
        if isinstance(data, dict) and "evidence" not in data:
            return {**data, "evidence": ["aggregate" if data.get("kind") == "aggregate_share"
                                         else "telemetry"]}
        return data

    @model_validator(mode="after")
    def _parameters_fit_the_kind(self) -> Formula:
        if (self.kind == "organisation_share") != bool(self.organisation_types):
            raise ValueError("organisation_types is required by, and only by, organisation_share")
        evidence = set(self.evidence)
        if self.kind == "aggregate_share":
            if evidence != {"aggregate"} or not self.measure:
                raise ValueError("aggregate_share counts evidence ['aggregate'] of a measure")
            if self.device_profiles or self.device_sectors or self.wards:
                raise ValueError("aggregate_share takes no device or ward filters")
        elif self.measure:
            raise ValueError("measure applies to aggregate_share only")
        elif self.kind == "organisation_share":
            if not evidence <= PER_ORGANISATION:
                raise ValueError(f"organisation_share counts evidence among {sorted(PER_ORGANISATION)}")
        elif evidence != {"telemetry"}:
            raise ValueError(f"{self.kind} counts active devices: evidence ['telemetry']")
        if ("declaration" in evidence) != bool(self.declares):
            raise ValueError("declares (the declaration's subject) goes with evidence 'declaration'")
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

    def plan_areas(self) -> list[tuple[str, int, int]]:
        """(plan, today's province, former province) of the targets set for a former
        province's area: the units of the ``plan_area`` breakdown."""
        return sorted({(t.plan, t.province, t.former_province) for t in self.targets
                       if t.former_province is not None})

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        if "province" not in self.breakdowns:
            raise ValueError("every indicator is reported per province: add 'province'")
        if bool(self.plan_areas()) != ("plan_area" in self.breakdowns):
            raise ValueError("'plan_area' is a breakdown of, and only of, an indicator with a"
                             " target of a former province's plan")
        if self.plan_areas() and self.formula.kind not in ("organisation_share", "aggregate_share"):
            raise ValueError("a plan area is computed for organisation_share and aggregate_share only")
        cited = {(s.seed[:3], s.line) for s in self.sources}
        for t in self.targets:
            if (t.plan, t.line) not in cited:
                raise ValueError(f"target {t.comparator} {t.value:g} by {t.year}: plan {t.plan}"
                                 f" line {t.line} is not among the sources")
            if not set(t.evidence) <= set(self.formula.evidence):
                raise ValueError(f"target of plan {t.plan} line {t.line}: evidence {t.evidence}"
                                 f" is not among the formula's {self.formula.evidence}")
        is_count = self.formula.kind == "active_devices"
        if is_count != (self.unit == "devices"):
            raise ValueError("active_devices counts 'devices'; every other formula is a '%'")
        if is_count == (self.denominator is not None):
            raise ValueError("a share needs a denominator text, a count has none")
        return self


class Catalogue(_Strict):
    definitions: dict[str, str]
    plans: list[Plan] = []
    indicators: Annotated[list[Indicator], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _targets_in_their_plans_areas(cls, data: object) -> object:
        """Each target gets its plan's province, former province and baseline year."""
        if not isinstance(data, dict):
            return data
        plans = {p.get("id"): p for p in data.get("plans", []) if isinstance(p, dict)}
        indicators = []
        for indicator in data.get("indicators", []):
            if isinstance(indicator, dict) and isinstance(indicator.get("targets"), list):
                targets = []
                for target in indicator["targets"]:
                    if not isinstance(target, dict) or "plan" not in target:
                        targets.append(target)  # the model reports what is missing
                        continue
                    plan = plans.get(target["plan"])
                    if plan is None:
                        raise ValueError(f"{indicator.get('id')}: target of unknown plan {target['plan']}")
                    resolved = {k: plan.get(k) for k in ("province", "former_province", "baseline_year")}
                    clash = [k for k, v in resolved.items() if k in target and target[k] != v]
                    if clash:
                        raise ValueError(f"{indicator.get('id')}: target's {clash} differ from"
                                         f" plan {plan.get('id')}'s")
                    targets.append({**target, **resolved})
                indicator = {**indicator, "targets": targets}
            indicators.append(indicator)
        return {**data, "indicators": indicators}

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalogue:
        ids = [i.id for i in self.indicators]
        if duplicated := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"duplicate indicator ids {duplicated}")
        return self

    def plan(self, plan_id: str) -> Plan:
        for plan in self.plans:
            if plan.id == plan_id:
                return plan
        raise KeyError(plan_id)

    def get(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(indicator_id)


def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Raises: ConfigError naming the file, the key and the line."""
    return load_config(path, Catalogue)
