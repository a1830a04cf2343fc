"""The registry's tables (SQLAlchemy 2). Schema changes go through Alembic (migrations/).

Where things are is history, not a column: a ``Placement`` row says that an organisation,
gateway or device was in a ward (and under an organisation, on a gateway) from
``valid_from`` until ``valid_to`` (open while current). A move closes one row and opens
another, so a past period's indicators are computed with the registry as it was.

Administrative units are those of 2025 (34 provinces, 3,321 wards and communes) from
``vietnam-provinces``; retired units stay as rows with ``retired_on`` and a successor, so
that history recorded under them remains valid.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An instant, stored in UTC on every database and returned timezone-aware.

    SQLite keeps no offset, so an aware time in UTC+7 would otherwise be stored as its
    local clock reading and compare wrongly with UTC times. Naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{value} has no time zone; give an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class OrgType(StrEnum):
    FARM = "farm"
    COOPERATIVE = "agricultural_cooperative"
    FACTORY = "factory"
    SME = "sme"
    INDUSTRIAL_ZONE_BUSINESS = "industrial_zone_business"
    HOUSEHOLD_METER_POINT = "household_meter_point"
    PUBLIC_PROJECT = "public_investment_project"
    SCHOOL = "school"
    MONITORING_AGENCY = "monitoring_agency"
    GROWING_AREA = "growing_area"  # vùng trồng, vùng nuôi (seed 003): traceability's unit


class Sector(StrEnum):
    AGRICULTURE = "agriculture"
    AQUACULTURE = "aquaculture"
    ENVIRONMENT = "environment"
    ENERGY = "energy"
    WATER = "water"
    INDUSTRY = "industry"
    URBAN = "urban"


class AccountRole(StrEnum):
    """What a broker account may do; the ACL file is generated from it."""

    GATEWAY = "gateway"  # write under iot/v1/<own id>/, read its own cmd/
    INGEST = "ingest"  # read every gateway's telemetry and status
    ADMIN = "admin"  # operators' tools: read and write everything under iot/v1/


class ApiRole(StrEnum):
    """Who may do what through the API."""

    MINISTRY = "ministry"  # read every province
    PROVINCE = "province"  # read and administer its own province
    OPERATOR = "operator"  # the registry and provisioning, every province
    ORGANISATION = "organisation"  # a farm, SME, cooperative, factory: its own devices only


class SubjectKind(StrEnum):
    ORGANISATION = "organisation"
    GATEWAY = "gateway"
    DEVICE = "device"


def _enum(cls: type[StrEnum]) -> Enum:
    # Stored as their values (not names), checked by a constraint on every database.
    return Enum(cls, native_enum=False, values_callable=lambda e: [m.value for m in e],
                validate_strings=True, length=40)


class Province(Base):
    __tablename__ = "provinces"

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    codename: Mapped[str] = mapped_column(String(100), unique=True)


class Ward(Base):
    """A commune or ward (xã, phường, đặc khu), current or retired."""

    __tablename__ = "wards"

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[int] = mapped_column(ForeignKey("provinces.code"), index=True)
    retired_on: Mapped[dt.date | None] = mapped_column(Date)
    successor_code: Mapped[int | None] = mapped_column(ForeignKey("wards.code"))

    __table_args__ = (CheckConstraint("(retired_on IS NULL) = (successor_code IS NULL)",
                                      name="retired_has_successor"),)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[OrgType] = mapped_column(_enum(OrgType), index=True)
    sector: Mapped[Sector] = mapped_column(_enum(Sector))
    # Whether its environmental stations' readings go to open data: None follows its type
    # (public bodies' do, private ones' only when their owner opts in with True).
    open_data: Mapped[bool | None] = mapped_column(Boolean)


class Gateway(Base):
    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    installed_on: Mapped[dt.date]
    decommissioned_on: Mapped[dt.date | None]
    # When it last said it was online (status message), as ingest saw it.
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    profile: Mapped[str] = mapped_column(String(64))
    sector: Mapped[Sector] = mapped_column(_enum(Sector))
    expected_interval_s: Mapped[int] = mapped_column(Integer)
    installed_on: Mapped[dt.date]
    decommissioned_on: Mapped[dt.date | None]
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (CheckConstraint("expected_interval_s > 0", name="positive_interval"),)


class Placement(Base):
    """Where a subject was, and under whom, from ``valid_from`` until ``valid_to``."""

    __tablename__ = "placements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(_enum(SubjectKind))
    subject_id: Mapped[str] = mapped_column(String(64))
    ward_code: Mapped[int] = mapped_column(ForeignKey("wards.code"))
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    gateway_id: Mapped[str | None] = mapped_column(ForeignKey("gateways.id"))
    valid_from: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    valid_to: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_placements_subject", "subject_kind", "subject_id", "valid_from"),
        Index("ix_placements_ward", "ward_code"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_interval"),
    )


class ReferenceCount(Base):
    """An official total (e.g. farms in a commune, from the statistics office): the
    denominator indicators prefer over counting registered organisations."""

    __tablename__ = "reference_counts"

    level: Mapped[str] = mapped_column(String(10), primary_key=True)  # "province" | "ward"
    unit_code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    org_type: Mapped[OrgType] = mapped_column(_enum(OrgType), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))

    __table_args__ = (CheckConstraint("count >= 0", name="non_negative_count"),
                      CheckConstraint("level IN ('province', 'ward')", name="known_level"))


class BrokerAccount(Base):
    """An MQTT username. Only the Mosquitto-compatible hash is kept; the password is shown
    once, when the account is made. A revoked account is left out of the broker's files."""

    __tablename__ = "broker_accounts"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[AccountRole] = mapped_column(_enum(AccountRole))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class ClientCertificate(Base):
    """A client certificate the CA issued to a broker account (mutual TLS).

    The broker's gateway listener takes the account from the certificate's common name
    (``use_identity_as_username``) and checks no password, so a certificate speaks for its
    account until it expires or its serial is in the CA's revocation list, which is made
    from the rows with ``revoked_at`` (``registry.revocation``). Rows are kept after the
    account is revoked: an account provisioned again gets a new certificate, and the old
    one, which names the same account, must stay revoked.
    """

    __tablename__ = "client_certificates"

    serial: Mapped[str] = mapped_column(String(40), primary_key=True)  # lowercase hex, <= 159 bits
    username: Mapped[str] = mapped_column(ForeignKey("broker_accounts.username"), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """An API token: only its SHA-256 is kept (tokens are 32 random bytes, so a fast hash
    is safe); the token itself is shown once. Requests are logged under ``organisation_id``
    for the platform-usage indicators."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # a name for people
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[ApiRole] = mapped_column(_enum(ApiRole))
    province_code: Mapped[int | None] = mapped_column(ForeignKey("provinces.code"))
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (CheckConstraint("(role = 'province') = (province_code IS NOT NULL)",
                                      name="province_role_has_province"),
                      CheckConstraint("role != 'organisation' OR organisation_id IS NOT NULL",
                                      name="organisation_role_has_organisation"))


class PersonalDataAccess(Base):
    """One read of a household's personal data (its meter's readings, its registry row):
    who read it, through which route, when. Written in the request that reads, so that a
    household (or an inspector under Decree 13/2023 on personal data) can be told who saw
    its data; operators read it with ``iotgw registry access-log`` or ``/v1/access-log``.
    Ids are kept as text, not foreign keys: the record outlives the token and the rows."""

    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    token_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[ApiRole] = mapped_column(_enum(ApiRole))
    route: Mapped[str] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    province_code: Mapped[int | None] = mapped_column(Integer, index=True)


class RegistryRevision(Base):
    """One row counting changes to what tags are made of, so caches know when to reload."""

    __tablename__ = "registry_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(Integer)


class FiledReport(Base):
    """A report as it was filed: its bytes, frozen, so that what the recipient got can be
    downloaded again after any recomputation, with the SHA-256 of each file to prove it."""

    __tablename__ = "filed_reports"

    province_code: Mapped[int] = mapped_column(ForeignKey("provinces.code"), primary_key=True,
                                               autoincrement=False)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    part: Mapped[str] = mapped_column(String(4), primary_key=True)  # "H1", "H2", "year"
    as_of: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    filed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    filed_by: Mapped[str] = mapped_column(String(64))  # the token's id (text: it outlives the token)
    csv: Mapped[bytes] = mapped_column(LargeBinary)
    csv_sha256: Mapped[str] = mapped_column(String(64))
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    xlsx_sha256: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("part IN ('H1', 'H2', 'year')", name="known_part"),)


class Declaration(Base):
    """What an organisation declared, or an assessment found, on a date: "uses MES",
    "issues e-invoices", the Decision 1970/QĐ-BTTTT digital-transformation level. Evidence
    that the platform cannot observe, kept with its source (survey, assessment, tax record)."""

    __tablename__ = "declarations"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. "mes", "e_invoice"
    declared_on: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    holds: Mapped[bool] = mapped_column(Boolean)  # the declaration says yes, or no (stopped)
    level: Mapped[int | None] = mapped_column(Integer)  # an assessment's level, when graded
    source: Mapped[str] = mapped_column(String(200))


class AggregateCount(Base):
    """An authoritative N of M for an area and year (tax authority: enterprises issuing
    e-invoices; the national traceability portal: barcoded products identified on it).
    ``level`` "former_province" holds figures kept for a province as it was before 2025."""

    __tablename__ = "aggregate_counts"

    measure: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    unit_code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    numerator: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("numerator >= 0 AND denominator > 0 AND numerator <= denominator",
                        name="n_of_m"),
        CheckConstraint("level IN ('province', 'ward', 'former_province')", name="known_level"),
    )
