"""The bodies the API answers with, one pydantic model per response, so that
``/openapi.json`` documents each of them.

Numbers read from InfluxDB or the catalogue are ``Number`` (``int | float``): a float
field would turn an integer count into ``2.0`` in the JSON, and the bodies keep the
numbers as they were stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from iotgw.devices import check_id
from iotgw.registry import OrgType, Sector
from iotgw.rollup.catalogue import Indicator
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, RootModel

Number = int | float
# A value in a row whose columns are the stored fields (readings, heartbeats, open data).
Scalar = bool | int | float | str
RegistryKind = Literal["organisations", "gateways", "devices", "reference_counts", "declarations",
                       "aggregates"]
PeriodQuery = Literal["day", "month", "half", "year"]
Level = Literal["province", "commune", "sector", "organisation_type", "gateway", "device", "plan_area"]
Resolution = Literal["raw", "hour", "day"]


class HealthPublic(BaseModel):
    status: Literal["ok"]


class ProvincePublic(BaseModel):
    code: int
    name: str


class ProvincesPublic(RootModel[list[ProvincePublic]]):
    pass


class IndicatorPublic(Indicator):
    """A catalogue entry: formula, targets and the plan lines the indicator serves."""


class IndicatorsPublic(RootModel[list[IndicatorPublic]]):
    pass


class TargetProgress(BaseModel):
    """The target of the value's area for its year (or the nearest later one), and where the
    value stands: judged on ``measured``, the part of the value made of the target's own
    evidence kinds (the plan's measure). ``met`` only in the target's year (null before);
    before it, ``expected_on_path`` is the straight path from the area's value in the plan's
    baseline year to the target (null without a stored baseline value)."""

    value: Number
    comparator: Literal[">=", ">", "<=", "<"]
    year: int
    plan: str
    line: int  # the plan line that sets it
    evidence: list[str]  # the kinds ``measured`` counts
    measured: Number | None  # null when the stored value has no evidence mix
    met: bool | None
    gap: Number | None  # target minus measured
    baseline_year: int
    baseline: Number | None
    expected_on_path: Number | None
    on_path: bool | None  # measured is on or past the path (by the comparator)


class AreaPublic(BaseModel):
    """The area values of a level are computed over: today's province (2025 boundaries), or
    a plan's area, the wards of today's province that made up a former province."""

    level: Literal["province", "plan_area"]
    unit: str  # the values' unit: the province code, or the plan's id
    province: int
    name: str
    former_province: int | None = None  # the pre-2025 code
    wards: int | None = None  # the plan area's 2025 wards
    plan: str | None = None


class IndicatorValuePublic(BaseModel):
    unit: str  # the province, commune, sector... code the value is for
    period: str  # the period's label, e.g. 2026-H1
    value: Number | None  # null only when suppressed
    numerator: Number | None  # null only when suppressed
    denominator: Number | None
    denominator_source: str | None
    target: TargetProgress | None
    change: Number | None  # from the previous period of the same unit, when both are shown
    # Evidence kind (telemetry, platform_use, declaration, aggregate) -> its part of the numerator.
    evidence: dict[str, Number] = {}
    # Computed over too few households for this token (README, "Privacy of household
    # data"): every number above is null. A device or gateway is then not listed at all.
    suppressed: bool = False


class IndicatorValuesPublic(BaseModel):
    indicator: str
    province: int
    period: PeriodQuery
    level: Level
    # The area of the values (at level province or plan_area), or that the units are in.
    areas: list[AreaPublic] = []
    values: list[IndicatorValuePublic]


class CommuneCoveragePublic(BaseModel):
    commune: int
    name: str
    devices: int
    active: int
    active_by_sector: dict[str, int]
    active_by_profile: dict[str, int]
    availability: float | None  # percent of expected intervals with data
    last_seen: str | None  # ISO 8601, UTC: the last hour with readings by the day's end (31 days back)
    # Distinct households (household meter points) with a device here; null when suppressed.
    households: int | None = None
    # Too few households for this token (README, "Privacy of household data"): every
    # number of this commune leaves the households' devices out.
    suppressed: bool = False


class CoveragePublic(BaseModel):
    province: int
    date: str  # ISO 8601 day, Vietnam time
    communes: list[CommuneCoveragePublic]
    communes_without_active_device: int
    communes_with_households_suppressed: int


class DeviceReadingsPublic(BaseModel):
    device: str
    resolution: Resolution
    # Each row: "time" (epoch ms) and the stored fields (aggregates at hour and day).
    readings: list[dict[str, Scalar]]


class GatewayPublic(BaseModel):
    gateway: str
    last_seen: str | None  # ISO 8601, as the registry recorded the status message
    health: dict[str, Scalar]  # the last heartbeat's fields
    # The last heartbeat said another client is connected with this id (``id_conflicts`` > 0):
    # two gateways share it, e.g. a cloned SD card (README, "Two gateways with one id").
    id_conflict: bool = False


class GatewaysPublic(RootModel[list[GatewayPublic]]):
    pass


class _Record(BaseModel):
    # Forbidding extras is what tells a device row from a gateway row in the union below.
    model_config = ConfigDict(extra="forbid")


class OrganisationRecord(_Record):
    id: str
    name: str
    type: OrgType
    sector: Sector
    ward_code: int
    since: dt.date
    open_data: bool | None = None  # empty: by type (public bodies open, private ones closed)


class GatewayRecord(_Record):
    id: str
    ward_code: int
    organisation_id: str | None
    installed_on: dt.date
    decommissioned_on: dt.date | None
    latitude: float | None
    longitude: float | None


class DeviceRecord(GatewayRecord):
    gateway_id: str | None
    profile: str
    sector: Sector
    expected_interval_s: int


class ReferenceCountRecord(_Record):
    level: str
    unit_code: int
    org_type: OrgType
    year: int
    count: int
    source: str


class DeclarationRecord(_Record):
    organisation_id: str
    subject: str
    declared_on: dt.date
    holds: bool
    level: int | None
    source: str


class AggregateRecord(_Record):
    measure: str
    level: str
    unit_code: int
    year: int
    numerator: int
    denominator: int
    source: str


class RegistryRowsPublic(BaseModel):
    """The registry's current rows of one kind, in the columns of ``iotgw registry export``."""

    kind: RegistryKind
    province: int | None
    rows: list[OrganisationRecord | GatewayRecord | DeviceRecord | ReferenceCountRecord
               | DeclarationRecord | AggregateRecord]


class RegistryImportPublic(BaseModel):
    imported: int
    kind: RegistryKind


class EnvironmentPublic(BaseModel):
    """Open data: daily means of a province's environmental stations for a month."""

    province: int
    month: str
    licence: str
    licence_url: str
    attribution: str
    # A station-day is published when its readings filled at least this share of the
    # intervals expected of it that day (0-1).
    min_availability: float
    data_dictionary: dict[str, str]
    # station, commune, date (ISO day, Vietnam time), availability (%) and one daily mean
    # per quantity
    rows: list[dict[str, Scalar]]


class QuantityPublic(BaseModel):
    unit: str
    vi: str
    en: str
    kind: str
    range: list[Number]  # [minimum, maximum]


class DataDictionaryPublic(RootModel[dict[str, QuantityPublic]]):
    pass


# An id in a request body: the registry's id rule, checked before anything is looked up.
BodyId = Annotated[str, AfterValidator(check_id)]


class RegistryMoveCreate(BaseModel):
    """A move of one device, gateway or organisation from ``at`` (with a UTC offset). An
    absent ``ward_code``, ``gateway_id`` or ``organisation_id`` stays as it was; a null
    ``gateway_id`` or ``organisation_id`` means under none from then."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["device", "gateway", "organisation"]
    id: BodyId
    at: AwareDatetime
    ward_code: int | None = None
    gateway_id: BodyId | None = None
    organisation_id: BodyId | None = None


class RegistryMovePublic(BaseModel):
    """The placement a move opened: where the subject is from ``valid_from``."""

    kind: Literal["device", "gateway", "organisation"]
    id: str
    valid_from: dt.datetime
    ward_code: int
    gateway_id: str | None
    organisation_id: str | None


Role = Literal["ministry", "province", "operator", "organisation"]


class MeDevicePublic(BaseModel):
    id: str
    profile: str
    ward: int


class MePublic(BaseModel):
    """Who the token is: the dashboard says who is signed in. ``devices``: an organisation
    token's own devices (placed under it now); empty for other roles."""

    token: str
    role: Role
    province: int | None
    organisation: str | None
    devices: list[MeDevicePublic]


class AccessPublic(BaseModel):
    """One read of a household's personal data."""

    at: dt.datetime
    token: str
    role: Role
    route: str
    device: str | None
    organisation: str | None
    province: int | None


class AccessLogPublic(BaseModel):
    """Reads of personal data, newest first."""

    accesses: list[AccessPublic]


ReportStatus = Literal["due", "filed", "late"]


class FiledReportPublic(BaseModel):
    """A filed report: frozen bytes, their SHA-256, who filed it and when."""

    province: int
    year: int
    part: Literal["H1", "H2", "year"]
    period: str
    as_of: dt.datetime
    complete: bool  # whether the period had ended at ``as_of``
    filed_at: dt.datetime
    filed_by: str
    csv_sha256: str
    xlsx_sha256: str
    deadline: dt.date
    on_time: bool


class ReportDuePublic(BaseModel):
    """One report a province owes: ``due`` (not filed, deadline ahead), ``late`` (not filed,
    deadline passed) or ``filed`` (``on_time`` says whether before the deadline)."""

    year: int
    part: Literal["H1", "H2", "year"]
    period: str
    sender: str
    recipient: str
    deadline: dt.date  # to arrive before this day starts, Vietnam time
    deadline_rule: str
    plan_lines: list[str]
    status: ReportStatus
    filed_at: dt.datetime | None = None
    on_time: bool | None = None
    csv_sha256: str | None = None


class ReportsDuePublic(BaseModel):
    province: int
    as_of: dt.datetime
    reports: list[ReportDuePublic]


class ProvinceValuePublic(BaseModel):
    """One province's value of an indicator for a period, or why there is none."""

    province: int
    name: str
    area: str
    period: str | None
    value: Number | None
    numerator: Number | None
    denominator: Number | None
    denominator_source: str | None
    # Evidence kind (telemetry, platform_use, declaration, aggregate) -> its part of the
    # numerator, as in ``IndicatorValuePublic``; empty when no value is shown.
    evidence: dict[str, Number] = {}
    suppressed: bool = False
    # The province's own target for the period's year (or the nearest later one) and the
    # progress to it, as in ``IndicatorValuePublic`` (measured, gap, met and on_path null
    # without a value); null when the province has none or its value is suppressed.
    target: TargetProgress | None = None


class NationalComparisonPublic(BaseModel):
    """An indicator across every province. ``comparable`` is false when the provinces'
    denominators come from different sources (official reference counts in some,
    registered organisations in others), and ``why`` says which."""

    indicator: str
    period: str
    comparable: bool
    why: str | None
    values: list[ProvinceValuePublic]
