"""Typed SQLAlchemy models. ORM classes are singular, tables plural; enums store their value.

``Measurement`` is the big table: its keys and indexes serve per-characteristic queries
(``characteristic_id, measured_at``), per-unit history (``unit_id``) and per-run detail
(``test_run_id``). ``BuildCharacteristicStat`` and ``BuildStationStat`` are running aggregates
kept up to date at ingest, so dashboards and gates read summary rows, not measurements.

A column's ``doc`` is its one description: the API documents the field with it.

Records that callers change are ``Versioned``: every UPDATE is made against the version that was
read and raises it by one, so two writers cannot both change the same version. Keys, codes and
serials hold printable ASCII only and are unique whatever their case (an index on ``lower()``
of the column, which agrees on every backend for ASCII). At most one go or conditional go is
recorded per product and gate (a partial unique index).
"""

from __future__ import annotations

import datetime as dt
from enum import Enum as PyEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from phasegate.domain.enums import (
    Allocation,
    AuditAction,
    BuildStatus,
    Disposition,
    FeedbackSource,
    Fidelity,
    FindingCategory,
    FindingStatus,
    GateOutcome,
    Outcome,
    PartnerKind,
    Phase,
    Priority,
    RequirementSource,
    RequirementStatus,
    RevisionStatus,
    Severity,
    Technique,
    UnitStatus,
)
from phasegate.domain.policy import Role

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite's INTEGER PRIMARY KEY is its rowid; BIGINT would lose autoincrement there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[dt.datetime]:
        return dt.datetime

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"datetime {value.isoformat()} has no time zone; use UTC")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def enum_column(enum: type[PyEnum], **kwargs: Any) -> Any:
    return mapped_column(
        SAEnum(
            enum,
            native_enum=False,
            length=32,
            values_callable=lambda e: [m.value for m in e],
            validate_strings=True,
        ),
        **kwargs,
    )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Versioned:
    """A record callers change: each UPDATE names the version it read and raises it by one.

    SQLAlchemy adds ``WHERE version = <the version read>`` to the UPDATE; when another writer
    got there first no row matches and the flush raises ``StaleDataError``.
    """

    version: Mapped[int] = mapped_column(
        Integer,
        server_default="1",
        doc="1 when created, one more with every change; a change made against an older "
        "version is refused.",
    )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:  # noqa: N805 (called with the mapped class)
        return {"version_id_col": cls.version}


class Product(Versioned, Timestamped, Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(
        String(40), unique=True, doc="Short unique key, e.g. AQM-1; letters, digits, - and _."
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    phase: Mapped[Phase] = enum_column(
        Phase, default=Phase.PROTOTYPE, index=True, doc="Changes only through a gate decision."
    )
    target_unit_cost: Mapped[float | None] = mapped_column(Float)
    target_annual_volume: Mapped[int | None] = mapped_column(Integer)
    target_launch_date: Mapped[dt.date | None] = mapped_column(Date)
    regulatory_units_required: Mapped[int | None] = mapped_column(
        Integer, doc="Pilot units the regulatory approvals need; a gate criterion counts them."
    )


Index("uq_products_lower_key", func.lower(Product.key), unique=True)


class Revision(Versioned, Timestamped, Base):
    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20), doc="A, B, C, ...")
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RevisionStatus] = enum_column(RevisionStatus, default=RevisionStatus.DRAFT)
    released_on: Mapped[dt.date | None] = mapped_column(Date)


Index(
    "uq_revisions_product_id_lower_code",
    Revision.product_id,
    func.lower(Revision.code),
    unique=True,
)


class Requirement(Versioned, Timestamped, Base):
    __tablename__ = "requirements"
    __table_args__ = (UniqueConstraint("product_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[Priority] = enum_column(Priority, default=Priority.SHOULD)
    source: Mapped[RequirementSource] = enum_column(
        RequirementSource, default=RequirementSource.CUSTOMER
    )
    status: Mapped[RequirementStatus] = enum_column(
        RequirementStatus, default=RequirementStatus.PROPOSED
    )
    rice_reach: Mapped[float | None] = mapped_column(Float)
    rice_impact: Mapped[float | None] = mapped_column(Float)
    rice_confidence: Mapped[float | None] = mapped_column(Float, doc="A fraction from 0 to 1.")
    rice_effort: Mapped[float | None] = mapped_column(Float)


Index(
    "uq_requirements_product_id_lower_key",
    Requirement.product_id,
    func.lower(Requirement.key),
    unique=True,
)


class Partner(Versioned, Timestamped, Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[PartnerKind] = enum_column(PartnerKind)
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    phases_served: Mapped[list[str]] = mapped_column(JSON, default=list)
    country: Mapped[str] = mapped_column(String(80), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")


class Line(Versioned, Timestamped, Base):
    __tablename__ = "lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    # The working calendar: the time available for production, from which the takt time of a
    # product made on the line follows (phasegate.line.calendar).
    shifts_per_day: Mapped[int] = mapped_column(
        Integer, default=1, server_default=text("1"), doc="Shifts worked on a working day."
    )
    hours_per_shift: Mapped[float] = mapped_column(
        Float,
        default=8.0,
        server_default=text("8"),
        doc="Production hours of one shift, breaks taken out.",
    )
    days_per_year: Mapped[int] = mapped_column(
        Integer, default=250, server_default=text("250"), doc="Working days in a year."
    )

    # The stations in flow order, as every page lists them.
    stations: Mapped[list[Station]] = relationship(order_by="Station.sequence")


class Station(Versioned, Timestamped, Base):
    __tablename__ = "stations"
    __table_args__ = (
        UniqueConstraint("line_id", "name"),
        UniqueConstraint("line_id", "sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    sequence: Mapped[int] = mapped_column(Integer, doc="Position in the flow, from 1.")
    equipment: Mapped[str] = mapped_column(String(200), default="")
    servers: Mapped[int] = mapped_column(
        Integer, default=1, doc="Parallel identical machines (default 1)."
    )
    planned_cycle_time_s: Mapped[float | None] = mapped_column(Float)


class Characteristic(Versioned, Timestamped, Base):
    __tablename__ = "characteristics"
    __table_args__ = (UniqueConstraint("product_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="")
    lsl: Mapped[float | None] = mapped_column(Float, doc="Lower specification limit.")
    usl: Mapped[float | None] = mapped_column(Float, doc="Upper specification limit.")
    target: Mapped[float | None] = mapped_column(Float)
    ctq: Mapped[bool] = mapped_column(Boolean, default=False, doc="Critical to quality.")
    requirement_id: Mapped[int | None] = mapped_column(
        ForeignKey("requirements.id", ondelete="SET NULL")
    )
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text, default="")


class Build(Versioned, Timestamped, Base):
    __tablename__ = "builds"
    __table_args__ = (UniqueConstraint("product_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    code: Mapped[str] = mapped_column(String(40))
    phase: Mapped[Phase] = enum_column(Phase)
    status: Mapped[BuildStatus] = enum_column(BuildStatus, default=BuildStatus.PLANNED)
    fidelity: Mapped[Fidelity | None] = enum_column(
        Fidelity, nullable=True, doc="Prototype builds only."
    )
    technique: Mapped[Technique | None] = enum_column(Technique, nullable=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("lines.id"), doc="Required for pilot and production."
    )
    planned_quantity: Mapped[int] = mapped_column(
        Integer, default=0, doc="Units planned, 1 or more."
    )
    actual_quantity: Mapped[int | None] = mapped_column(Integer)
    budget: Mapped[float | None] = mapped_column(Float)
    actual_cost: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(Text, default="")


Index("uq_builds_product_id_lower_code", Build.product_id, func.lower(Build.code), unique=True)


class Unit(Versioned, Timestamped, Base):
    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("product_id", "serial"),
        # A build's unit list in serial order (its units are of one product, and the API lists
        # units by product and serial); its units counted by status and allocation.
        Index("ix_units_build_id_product_id_serial", "build_id", "product_id", "serial"),
        Index("ix_units_build_id_status_allocation", "build_id", "status", "allocation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"))
    serial: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[UnitStatus] = enum_column(UnitStatus, default=UnitStatus.IN_PROCESS)
    allocation: Mapped[Allocation] = enum_column(Allocation, default=Allocation.UNALLOCATED)


# The serial first: a unit is looked up by its serial alone when the product is not named.
Index("uq_units_lower_serial_product_id", func.lower(Unit.serial), Unit.product_id, unique=True)


class StationPass(Base):
    __tablename__ = "station_passes"
    __table_args__ = (
        Index("ix_station_passes_station_id_started_at", "station_id", "started_at"),
        Index("ix_station_passes_unit_id_started_at", "unit_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    operator: Mapped[str] = mapped_column(String(80), default="")
    result: Mapped[Outcome] = enum_column(Outcome)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    source_id: Mapped[str] = mapped_column(
        String(200), unique=True, doc="Names the pass in its source; sending it again adds nothing."
    )


class TestRun(Base):
    __tablename__ = "test_runs"
    __table_args__ = (Index("ix_test_runs_unit_id_started_at", "unit_id", "started_at"),)
    __test__ = False  # not a pytest class

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    procedure: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[Outcome] = enum_column(Outcome)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    operator: Mapped[str] = mapped_column(String(80), default="")
    source: Mapped[str] = mapped_column(String(40), default="")
    source_id: Mapped[str] = mapped_column(String(200), unique=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, doc="Fields of the source record phasegate has no column for, kept as they came."
    )


class Measurement(Base):
    __tablename__ = "measurements"
    __table_args__ = (
        Index("ix_measurements_characteristic_id_measured_at", "characteristic_id", "measured_at"),
        Index("ix_measurements_unit_id", "unit_id"),
        Index("ix_measurements_test_run_id", "test_run_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    test_run_id: Mapped[int] = mapped_column(ForeignKey("test_runs.id", ondelete="CASCADE"))
    # Denormalised from the test run so per-unit and per-characteristic reads need no join.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    characteristic_id: Mapped[int | None] = mapped_column(
        ForeignKey("characteristics.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    text_value: Mapped[str | None] = mapped_column(String(400))
    unit: Mapped[str] = mapped_column(String(40), default="")
    lsl: Mapped[float | None] = mapped_column(Float)
    usl: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[Outcome] = enum_column(Outcome, default=Outcome.UNSET)
    measured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    marginal: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="Within limits but near one of them."
    )
    # A dimensioned measurement keeps its rows here, each the dimension values then the
    # measured value; a column rather than a table, since a series is read only with its row.
    series: Mapped[list[list[float]] | None] = mapped_column(
        JSON, doc="The rows of a dimensioned measurement: dimension values, then the value."
    )


class BuildCharacteristicStat(Base):
    """Running aggregate of one characteristic's measurements in one build."""

    __tablename__ = "build_characteristic_stats"

    build_id: Mapped[int] = mapped_column(
        ForeignKey("builds.id", ondelete="CASCADE"), primary_key=True
    )
    characteristic_id: Mapped[int] = mapped_column(
        ForeignKey("characteristics.id", ondelete="CASCADE"), primary_key=True
    )
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[float] = mapped_column(Float, default=0.0)
    total_sq: Mapped[float] = mapped_column(Float, default=0.0)
    minimum: Mapped[float | None] = mapped_column(Float)
    maximum: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    below_lsl: Mapped[int] = mapped_column(BigInteger, default=0)
    above_usl: Mapped[int] = mapped_column(BigInteger, default=0)


class BuildStationStat(Base):
    """Running aggregate of station passes of one build at one station."""

    __tablename__ = "build_station_stats"

    build_id: Mapped[int] = mapped_column(
        ForeignKey("builds.id", ondelete="CASCADE"), primary_key=True
    )
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True
    )
    passes: Mapped[int] = mapped_column(BigInteger, default=0)
    first_attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    first_pass_ok: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    cycle_time_count: Mapped[int] = mapped_column(BigInteger, default=0)
    cycle_time_total_s: Mapped[float] = mapped_column(Float, default=0.0)
    cycle_time_total_sq: Mapped[float] = mapped_column(Float, default=0.0)
    cycle_time_min_s: Mapped[float | None] = mapped_column(Float)
    cycle_time_max_s: Mapped[float | None] = mapped_column(Float)


class DefectCode(Versioned, Base):
    __tablename__ = "defect_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(80), default="")


Index("uq_defect_codes_lower_code", func.lower(DefectCode.code), unique=True)


class Defect(Base):
    __tablename__ = "defects"
    __table_args__ = (Index("ix_defects_defect_code_id_found_at", "defect_code_id", "found_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    defect_code_id: Mapped[int] = mapped_column(ForeignKey("defect_codes.id"))
    severity: Mapped[Severity] = enum_column(Severity)
    disposition: Mapped[Disposition] = enum_column(Disposition, default=Disposition.PENDING)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    source_id: Mapped[str] = mapped_column(
        String(200),
        unique=True,
        doc="Names the defect in its source; sending it again adds nothing.",
    )


class Attachment(Base):
    """An attachment of a test run, by its metadata (the bytes stay at the station)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    test_run_id: Mapped[int] = mapped_column(
        ForeignKey("test_runs.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    mimetype: Mapped[str] = mapped_column(String(120), default="")
    size: Mapped[int | None] = mapped_column(BigInteger, doc="Bytes.")
    sha1: Mapped[str] = mapped_column(String(40), default="")


class IngestFile(Base):
    """One file (or request) of test data taken in, with what became of its records.

    ``status`` is ``running`` while batches are stored, then ``done`` or ``failed`` (the file
    could not be read, or storing stopped). The counts cover the batches committed so far.
    """

    __tablename__ = "ingest_files"
    __table_args__ = (Index("ix_ingest_files_started_at", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(40), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int | None] = mapped_column(BigInteger, doc="Bytes of the file, when a file.")
    actor: Mapped[str] = mapped_column(String(120))
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), doc="The partner of a partner user."
    )
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="running")


class IngestReject(Base):
    """A record or part of a file that was not stored: where it is, why, and what it held."""

    __tablename__ = "ingest_rejects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("ingest_files.id", ondelete="CASCADE"), index=True
    )
    where: Mapped[str] = mapped_column(String(500), doc="file:line or file#/json/pointer.")
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text, default="")
    source_id: Mapped[str | None] = mapped_column(String(200), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime, doc="When a later ingest stored the record."
    )


class CharacteristicAlias(Versioned, Timestamped, Base):
    """Another name a measurement may carry for a characteristic of the product."""

    __tablename__ = "characteristic_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(200), doc="The other name; any case.")
    characteristic_id: Mapped[int] = mapped_column(
        ForeignKey("characteristics.id", ondelete="CASCADE"), index=True
    )


Index(
    "uq_characteristic_aliases_product_id_lower_alias",
    CharacteristicAlias.product_id,
    func.lower(CharacteristicAlias.alias),
    unique=True,
)


class Finding(Versioned, Timestamped, Base):
    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_product_id_status", "product_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    build_id: Mapped[int | None] = mapped_column(ForeignKey("builds.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[FindingCategory] = enum_column(FindingCategory)
    severity: Mapped[Severity] = enum_column(Severity)
    status: Mapped[FindingStatus] = enum_column(FindingStatus, default=FindingStatus.OPEN)
    owner: Mapped[str] = mapped_column(String(120), default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    corrective_action: Mapped[str] = mapped_column(Text, default="")
    fixed_in_revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    opened_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)


class Feedback(Versioned, Timestamped, Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    requirement_id: Mapped[int | None] = mapped_column(
        ForeignKey("requirements.id", ondelete="SET NULL")
    )
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id", ondelete="SET NULL"))
    source: Mapped[FeedbackSource] = enum_column(FeedbackSource)
    author: Mapped[str] = mapped_column(String(120), default="")
    rating: Mapped[int | None] = mapped_column(Integer, doc="1 (poor) to 5 (excellent).")
    text: Mapped[str] = mapped_column(Text, default="")
    received_on: Mapped[dt.date | None] = mapped_column(Date)


# The outcomes that let a product in: a gate is passed once, so at most one of these per gate.
_PASSED = text("outcome IN ('go', 'conditional')")


class GateDecision(Base):
    """A recorded decision at a stage gate; the only way a product changes phase."""

    __tablename__ = "gate_decisions"
    __table_args__ = (
        Index(
            "uq_gate_decisions_product_id_to_phase",
            "product_id",
            "to_phase",
            unique=True,
            sqlite_where=_PASSED,
            postgresql_where=_PASSED,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    from_phase: Mapped[Phase] = enum_column(Phase)
    to_phase: Mapped[Phase] = enum_column(Phase)
    outcome: Mapped[GateOutcome] = enum_column(GateOutcome)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(120))
    rationale: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_entity_type_entity_id", "entity_type", "entity_id"),
        Index("ix_audit_events_product_id_occurred_at", "product_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[AuditAction] = enum_column(AuditAction)
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(String(400), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class User(Versioned, Timestamped, Base):
    """A person (or a station's service account) who signs in or holds API tokens.

    ``password_hash`` is an Argon2 hash (none for an account that only holds tokens);
    ``failed_logins`` and ``locked_until`` lock the account out for a while after repeated
    failed sign-ins. A partner user belongs to one partner and sees only its builds.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(
        String(80), unique=True, doc="Sign-in name: printable ASCII, no spaces; any case."
    )
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = enum_column(Role)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id"), doc="The partner a partner user works for."
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


Index("uq_users_lower_name", func.lower(User.name), unique=True)


class ApiToken(Base):
    """A bearer token for the API. Only its SHA-256 digest is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    prefix: Mapped[str] = mapped_column(String(24), doc="The token's first characters, to tell it.")
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser. The cookie holds a signed random id; only its digest is stored, so
    a copy of the table signs nobody in. Ended by logout, idle time or its absolute lifetime."""

    __tablename__ = "web_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(String(200), default="")


# --- control plan ---


class ControlPlanStatus(PyEnum):
    """Where a control plan stands: written, in force, or replaced by a later one."""

    DRAFT = "draft"
    RELEASED = "released"
    OBSOLETE = "obsolete"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class FrequencyBasis(PyEnum):
    """What a control plan item's ``frequency_every`` counts: every N units, hours, shifts..."""

    UNIT = "unit"
    HOUR = "hour"
    SHIFT = "shift"
    DAY = "day"
    LOT = "lot"
    SETUP = "setup"

    @property
    def label(self) -> str:
        return self.value


class ControlPlan(Versioned, Timestamped, Base):
    """The QC procedure of a product: per station, what is checked, how, how often and what
    is done when it goes wrong (its ``ControlPlanItem`` rows)."""

    __tablename__ = "control_plans"
    __table_args__ = (UniqueConstraint("product_id", "name", "plan_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revisions.id", ondelete="SET NULL"),
        doc="The design revision the plan is written for; none: every revision.",
    )
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("lines.id", ondelete="SET NULL"),
        doc="The line the plan is written for; when set, every item's station is on it.",
    )
    name: Mapped[str] = mapped_column(String(200))
    plan_version: Mapped[str] = mapped_column(
        String(20), default="1", doc="The plan document's own version label, e.g. 1 or 2.1."
    )
    status: Mapped[ControlPlanStatus] = enum_column(
        ControlPlanStatus,
        default=ControlPlanStatus.DRAFT,
        doc="draft, released (in force) or obsolete.",
    )
    description: Mapped[str] = mapped_column(Text, default="")


class Gauge(Versioned, Timestamped, Base):
    """A measuring instrument (or test fixture) a control plan item measures with."""

    __tablename__ = "gauges"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(
        String(80), unique=True, doc="The gauge's id, e.g. MIC-017; printable ASCII, no spaces."
    )
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"),
        index=True,
        doc="The product the gauge is dedicated to; none: a general-purpose gauge.",
    )
    line_id: Mapped[int | None] = mapped_column(
        ForeignKey("lines.id", ondelete="SET NULL"), doc="The line the gauge is used on."
    )
    description: Mapped[str] = mapped_column(Text, default="")


Index("uq_gauges_lower_name", func.lower(Gauge.name), unique=True)


class ControlPlanItem(Versioned, Timestamped, Base):
    """One row of a control plan: a characteristic checked at a station."""

    __tablename__ = "control_plan_items"
    __table_args__ = (Index("ix_control_plan_items_plan_id_station_id", "plan_id", "station_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("control_plans.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    characteristic_id: Mapped[int] = mapped_column(
        ForeignKey("characteristics.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[str] = mapped_column(
        String(300), doc="How the characteristic is measured or checked."
    )
    gauge_id: Mapped[int | None] = mapped_column(
        ForeignKey("gauges.id", ondelete="SET NULL"), index=True, doc="The gauge measuring it."
    )
    sample_size: Mapped[int] = mapped_column(Integer, doc="Units checked each time, 1 or more.")
    frequency: Mapped[str] = mapped_column(
        String(200), doc="How often, as a person reads it: every 50 units, once per shift."
    )
    frequency_every: Mapped[int | None] = mapped_column(
        Integer, doc="The frequency for machines: a sample every N of frequency_per."
    )
    frequency_per: Mapped[FrequencyBasis | None] = enum_column(
        FrequencyBasis,
        nullable=True,
        doc="What frequency_every counts: unit, hour, shift, day, lot or setup.",
    )
    chart_type: Mapped[str | None] = mapped_column(
        String(20),
        doc="The control chart: xbar-r, xbar-s, imr, p, np, c, u, ewma or cusum; none: no chart.",
    )
    reaction_plan: Mapped[str] = mapped_column(
        Text, doc="What the operator does when a check fails or the chart signals."
    )


class GageStudy(Timestamped, Base):
    """A crossed gage R&R study of one gauge on one characteristic, with its raw readings.

    The results are computed once from ``readings`` when the study is recorded (a study is
    evidence: it is never changed, a new one is recorded instead).
    """

    __tablename__ = "gage_studies"
    __table_args__ = (
        Index("ix_gage_studies_gauge_id_characteristic_id", "gauge_id", "characteristic_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gauge_id: Mapped[int] = mapped_column(ForeignKey("gauges.id", ondelete="CASCADE"))
    characteristic_id: Mapped[int] = mapped_column(
        ForeignKey("characteristics.id", ondelete="CASCADE"), index=True
    )
    studied_on: Mapped[dt.date] = mapped_column(Date, doc="The day the readings were taken.")
    recorded_by: Mapped[str] = mapped_column(String(120), default="")
    pct_grr_study_var: Mapped[float | None] = mapped_column(
        Float, doc="Gage R&R as a percentage of the study's total variation."
    )
    pct_grr_tolerance: Mapped[float | None] = mapped_column(
        Float, doc="Gage R&R study variation as a percentage of the tolerance; none without one."
    )
    ndc: Mapped[int | None] = mapped_column(
        Integer, doc="Number of distinct categories; none when the readings show no gauge error."
    )
    repeatability: Mapped[float] = mapped_column(
        Float, doc="Standard deviation of repeatability (equipment variation)."
    )
    reproducibility: Mapped[float] = mapped_column(
        Float, doc="Standard deviation of reproducibility (appraiser variation)."
    )
    gage_rr: Mapped[float] = mapped_column(Float, doc="Standard deviation of the gage R&R.")
    part_to_part: Mapped[float] = mapped_column(Float, doc="Standard deviation of the parts.")
    n_parts: Mapped[int] = mapped_column(Integer)
    n_operators: Mapped[int] = mapped_column(Integer)
    n_trials: Mapped[int] = mapped_column(Integer, doc="Readings per part and operator.")
    tolerance: Mapped[float | None] = mapped_column(Float, doc="USL - LSL the study used.")
    study_multiplier: Mapped[float] = mapped_column(Float, default=6.0)
    readings: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, doc="The raw readings, each {part, operator, value}, to recompute the study."
    )
    notes: Mapped[str] = mapped_column(Text, default="")


# --- unit counts ---


class BuildUnitCount(Base):
    """Units of one build with one status and allocation, kept exact by database triggers on
    ``units`` (migration ``0011_unit_counts``), so every write path keeps it without knowing."""

    __tablename__ = "build_unit_counts"

    build_id: Mapped[int] = mapped_column(
        ForeignKey("builds.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[UnitStatus] = enum_column(UnitStatus, primary_key=True)
    allocation: Mapped[Allocation] = enum_column(Allocation, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class BuildDefectCount(Base):
    """Defects on the units of one build, kept exact by triggers on ``defects`` and ``units``."""

    __tablename__ = "build_defect_counts"

    build_id: Mapped[int] = mapped_column(
        ForeignKey("builds.id", ondelete="CASCADE"), primary_key=True
    )
    n: Mapped[int] = mapped_column(BigInteger, default=0)


# Substring search of serials on PostgreSQL (pg_trgm); SQLite cannot build it and skips it.
Index(
    "ix_units_lower_serial_trgm",
    func.lower(Unit.serial).label("lower_serial"),
    postgresql_using="gin",
    postgresql_ops={"lower_serial": "gin_trgm_ops"},
)


# --- costing ---


class Part(Versioned, Timestamped, Base):
    """A purchased part: its standard cost; cheaper from quantities its price breaks name."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(
        String(80), unique=True, doc="Part number: printable ASCII, no spaces; any case."
    )
    description: Mapped[str] = mapped_column(String(300), default="")
    standard_cost: Mapped[float] = mapped_column(
        Float, doc="Cost of one part below its first price break."
    )
    sourced: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="A supplier is qualified for it."
    )
    single_source: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), doc="Only one supplier can deliver it."
    )
    sourcing_risk_accepted: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default=false(),
        doc="Someone accepted the risk of its single source.",
    )


Index("uq_parts_lower_number", func.lower(Part.number), unique=True)


class PartPriceBreak(Versioned, Timestamped, Base):
    """From ``min_quantity`` parts bought, each costs ``unit_cost``."""

    __tablename__ = "part_price_breaks"
    __table_args__ = (UniqueConstraint("part_id", "min_quantity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"))
    min_quantity: Mapped[float] = mapped_column(
        Float, doc="Parts bought (units built × gross quantity per unit) from which it applies."
    )
    unit_cost: Mapped[float] = mapped_column(Float, doc="Cost of one part from that quantity.")


class BomLine(Versioned, Timestamped, Base):
    """One part of a revision's bill of materials."""

    __tablename__ = "bom_lines"
    __table_args__ = (UniqueConstraint("revision_id", "part_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    quantity_per_unit: Mapped[float] = mapped_column(Float, doc="Parts in one unit, above 0.")
    scrap_allowance: Mapped[float] = mapped_column(
        Float, default=0.0, doc="Parts bought beyond the quantity, as a fraction (0.02 = 2 %)."
    )


class MaterialIssue(Versioned, Timestamped, Base):
    """Parts issued to a build, compared with its BOM standard."""

    __tablename__ = "material_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), index=True)
    quantity: Mapped[float] = mapped_column(Float, doc="Parts issued (returns as negative).")
    issued_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")


class LineCostRate(Versioned, Timestamped, Base):
    """The labor rate and the overhead rate of a line."""

    __tablename__ = "line_cost_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"), unique=True)
    labor_rate_per_hour: Mapped[float] = mapped_column(
        Float, doc="Cost of one labor hour, for stations without a rate of their own."
    )
    overhead_rate: Mapped[float] = mapped_column(
        Float, default=0.0, doc="Overhead as a fraction of direct labor cost (1.5 = 150 %)."
    )


class StationLaborRate(Versioned, Timestamped, Base):
    """How many operators a station takes, and its own labor rate where it differs."""

    __tablename__ = "station_labor_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), unique=True
    )
    operators: Mapped[float] = mapped_column(
        Float, default=1.0, doc="Operators busy during a pass (0.5: one tends two stations)."
    )
    labor_rate_per_hour: Mapped[float | None] = mapped_column(
        Float, doc="Cost of one labor hour here; none: the line's rate."
    )


class ToolingInvestment(Versioned, Timestamped, Base):
    """Tooling bought for a product (moulds, fixtures), amortised over a volume."""

    __tablename__ = "tooling_investments"
    __table_args__ = (UniqueConstraint("product_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    cost: Mapped[float] = mapped_column(Float)
    amortisation_volume: Mapped[int] = mapped_column(
        Integer, doc="Units the cost is spread over, 1 or more."
    )


# --- gate evidence ---


class GatePlanOverride(Versioned, Timestamped, Base):
    """A product's override of the default plan of one gate (``phasegate.gates.override``).

    Versioned by rows: a change is a new row, and the latest row of a (product, gate) applies;
    the audit trail names who recorded each one.
    """

    __tablename__ = "gate_plans"
    __table_args__ = (Index("ix_gate_plans_product_id_to_phase", "product_id", "to_phase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    to_phase: Mapped[Phase] = enum_column(Phase, doc="The gate: into pilot or into production.")
    toml: Mapped[str] = mapped_column(
        Text, doc="The override in the gate plan override format (docs/gates.md)."
    )


class GtmChecklistItem(Versioned, Timestamped, Base):
    """One item of a product's go-to-market checklist."""

    __tablename__ = "gtm_checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    done: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    owner: Mapped[str] = mapped_column(String(120), default="")
    due_date: Mapped[dt.date | None] = mapped_column(Date)


# --- gate decision workflow ---

# One review in the making per gate of a product: a second one waits until the first is decided.
_REVIEW_OPEN = text("status = 'open'")


class GateReview(Versioned, Base):
    """A gate decision in the making: opened from an evaluation whose evidence it freezes,
    signed off by role, with waivers; deciding it records the ``GateDecision``.

    ``status`` is ``open`` until it is decided, then ``decided``; ``decision_id`` names the
    recorded decision. ``evaluation`` is the evaluation's ``as_dict()`` plus ``extent`` (the
    amount and the latest timestamps of the data it used), frozen when the review opened.
    """

    __tablename__ = "gate_reviews"
    __table_args__ = (
        Index(
            "uq_gate_reviews_product_id_to_phase",
            "product_id",
            "to_phase",
            unique=True,
            sqlite_where=_REVIEW_OPEN,
            postgresql_where=_REVIEW_OPEN,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    from_phase: Mapped[Phase] = enum_column(Phase)
    to_phase: Mapped[Phase] = enum_column(Phase)
    status: Mapped[str] = mapped_column(String(16), default="open")
    plan_name: Mapped[str] = mapped_column(String(120))
    plan_version: Mapped[str] = mapped_column(String(120))
    suggestion: Mapped[GateOutcome] = enum_column(GateOutcome)
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON)
    opened_by: Mapped[str] = mapped_column(String(120))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("gate_decisions.id", ondelete="SET NULL"), unique=True
    )


class GateSignoff(Base):
    """One role's approval or rejection of a gate review, by the signing user."""

    __tablename__ = "gate_signoffs"
    __table_args__ = (UniqueConstraint("review_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("gate_reviews.id", ondelete="CASCADE"))
    role: Mapped[Role] = enum_column(Role)
    signed_by: Mapped[str] = mapped_column(String(120))
    approve: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GateWaiver(Base):
    """A criterion of a gate review waived with a written reason by a user allowed to."""

    __tablename__ = "gate_waivers"
    __table_args__ = (UniqueConstraint("review_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("gate_reviews.id", ondelete="CASCADE"))
    criterion_id: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    waived_by: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = enum_column(Role)
    waived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GateActionItem(Versioned, Base):
    """A condition of a conditional go: what is to be done, by whom, by when."""

    __tablename__ = "gate_action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(
        ForeignKey("gate_reviews.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(120))
    due_on: Mapped[dt.date] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
