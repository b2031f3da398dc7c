"""Request and response bodies of the API.

Per record type: ``<Thing>Create`` (what a POST takes), ``<Thing>Update`` (what a PATCH takes,
every field optional) and ``<Thing>Out`` (what is returned). Input models forbid unknown fields,
so a misspelt or read-only field (``id``, a product's ``phase``) is a 422 naming it. Choices use
the domain enums, so the OpenAPI document lists them. Types are checked here; the business rules
(spec limits, references within one product, ...) are checked once, in the services.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from phasegate.domain.enums import (
    Allocation,
    AuditAction,
    BuildStatus,
    FeedbackSource,
    Fidelity,
    FindingCategory,
    FindingStatus,
    GateOutcome,
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
from phasegate.services.products import rice_score

# Whole numbers are stored as 32-bit integers (PostgreSQL's INTEGER); larger ones cannot be
# stored, and cannot name a record.
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
Int32 = Annotated[int, Field(ge=-(2**31), le=MAX_ID)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def from_record(cls, record: Any) -> Self:
        """The response body for one stored record."""
        return cls.model_validate(record)


class Stamped(Output):
    created_at: dt.datetime
    updated_at: dt.datetime


T = TypeVar("T", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    """One page of a list: ``total`` records match, ``items`` holds those from ``offset`` on."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        return str(params[0].__name__).removesuffix("Out") + "Page"


# --- errors -----------------------------------------------------------------------------------


class FieldErrorOut(BaseModel):
    loc: str = Field(description="The field, dotted for nested fields (e.g. `phases_served.0`).")
    message: str


class ErrorBody(BaseModel):
    type: str = Field(
        description="not_found, invalid_input, conflict, gate_blocked, method_not_allowed, ..."
    )
    message: str
    fields: list[FieldErrorOut] = []


class ErrorOut(BaseModel):
    """The one shape of every error response."""

    error: ErrorBody


# --- products and what defines them -----------------------------------------------------------


class ProductCreate(Input):
    key: str = Field(description="Short unique key, e.g. AQM-1; letters, digits, - and _.")
    name: str
    description: str | None = None
    target_unit_cost: float | None = None
    target_annual_volume: Int32 | None = None
    target_launch_date: dt.date | None = None


class ProductUpdate(Input):
    name: str | None = None
    description: str | None = None
    target_unit_cost: float | None = None
    target_annual_volume: Int32 | None = None
    target_launch_date: dt.date | None = None


class ProductOut(Stamped):
    id: int
    key: str
    name: str
    description: str
    phase: Phase = Field(description="Changes only through a gate decision.")
    target_unit_cost: float | None
    target_annual_volume: int | None
    target_launch_date: dt.date | None


class RevisionCreate(Input):
    product_id: RecordId
    code: str = Field(description="A, B, C, ...")
    description: str | None = None
    status: RevisionStatus | None = None
    released_on: dt.date | None = None


class RevisionUpdate(Input):
    code: str | None = None
    description: str | None = None
    status: RevisionStatus | None = None
    released_on: dt.date | None = None


class RevisionOut(Stamped):
    id: int
    product_id: int
    code: str
    description: str
    status: RevisionStatus
    released_on: dt.date | None


class RequirementCreate(Input):
    product_id: RecordId
    key: str
    title: str
    description: str | None = None
    priority: Priority | None = None
    source: RequirementSource | None = None
    status: RequirementStatus | None = None
    rice_reach: float | None = None
    rice_impact: float | None = None
    rice_confidence: float | None = Field(None, description="A fraction from 0 to 1.")
    rice_effort: float | None = None


class RequirementUpdate(Input):
    key: str | None = None
    title: str | None = None
    description: str | None = None
    priority: Priority | None = None
    source: RequirementSource | None = None
    status: RequirementStatus | None = None
    rice_reach: float | None = None
    rice_impact: float | None = None
    rice_confidence: float | None = None
    rice_effort: float | None = None


class RequirementOut(Stamped):
    id: int
    product_id: int
    key: str
    title: str
    description: str
    priority: Priority
    source: RequirementSource
    status: RequirementStatus
    rice_reach: float | None
    rice_impact: float | None
    rice_confidence: float | None
    rice_effort: float | None
    rice_score: float | None = Field(
        None, description="reach × impact × confidence / effort; null until all four are set."
    )

    @classmethod
    def from_record(cls, record: Any) -> Self:
        return cls.model_validate(record).model_copy(update={"rice_score": rice_score(record)})


class CharacteristicCreate(Input):
    product_id: RecordId
    name: str
    unit: str | None = None
    lsl: float | None = Field(None, description="Lower specification limit.")
    usl: float | None = Field(None, description="Upper specification limit.")
    target: float | None = None
    ctq: bool | None = Field(None, description="Critical to quality.")
    requirement_id: RecordId | None = None
    station_id: RecordId | None = None
    description: str | None = None


class CharacteristicUpdate(Input):
    name: str | None = None
    unit: str | None = None
    lsl: float | None = None
    usl: float | None = None
    target: float | None = None
    ctq: bool | None = None
    requirement_id: RecordId | None = None
    station_id: RecordId | None = None
    description: str | None = None


class CharacteristicOut(Stamped):
    id: int
    product_id: int
    name: str
    unit: str
    lsl: float | None
    usl: float | None
    target: float | None
    ctq: bool
    requirement_id: int | None
    station_id: int | None
    description: str


# --- partners, lines, stations ----------------------------------------------------------------


class PartnerCreate(Input):
    name: str
    kind: PartnerKind
    capabilities: list[str] | None = None
    phases_served: list[Phase] | None = None
    country: str | None = None
    contact: str | None = None


class PartnerUpdate(Input):
    name: str | None = None
    kind: PartnerKind | None = None
    capabilities: list[str] | None = None
    phases_served: list[Phase] | None = None
    country: str | None = None
    contact: str | None = None


class PartnerOut(Stamped):
    id: int
    name: str
    kind: PartnerKind
    capabilities: list[str]
    phases_served: list[Phase]
    country: str
    contact: str


class LineCreate(Input):
    name: str
    partner_id: RecordId | None = None
    description: str | None = None


class LineUpdate(Input):
    name: str | None = None
    partner_id: RecordId | None = None
    description: str | None = None


class LineOut(Stamped):
    id: int
    name: str
    partner_id: int | None
    description: str


class StationCreate(Input):
    line_id: RecordId
    name: str
    sequence: Int32 = Field(description="Position in the flow, from 1.")
    equipment: str | None = None
    servers: Int32 | None = Field(None, description="Parallel identical machines (default 1).")
    planned_cycle_time_s: float | None = None


class StationUpdate(Input):
    name: str | None = None
    sequence: Int32 | None = None
    equipment: str | None = None
    servers: Int32 | None = None
    planned_cycle_time_s: float | None = None


class StationOut(Stamped):
    id: int
    line_id: int
    name: str
    sequence: int
    equipment: str
    servers: int
    planned_cycle_time_s: float | None


# --- builds and units -------------------------------------------------------------------------


class BuildCreate(Input):
    product_id: RecordId
    revision_id: RecordId
    code: str
    phase: Phase
    status: BuildStatus | None = None
    fidelity: Fidelity | None = Field(None, description="Prototype builds only.")
    technique: Technique | None = None
    partner_id: RecordId | None = None
    line_id: RecordId | None = Field(None, description="Required for pilot and production.")
    planned_quantity: Int32 = Field(description="Units planned, 1 or more.")
    actual_quantity: Int32 | None = None
    budget: float | None = None
    actual_cost: float | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    purpose: str | None = None


class BuildUpdate(Input):
    revision_id: RecordId | None = None
    code: str | None = None
    phase: Phase | None = None
    status: BuildStatus | None = None
    fidelity: Fidelity | None = None
    technique: Technique | None = None
    partner_id: RecordId | None = None
    line_id: RecordId | None = None
    planned_quantity: Int32 | None = None
    actual_quantity: Int32 | None = None
    budget: float | None = None
    actual_cost: float | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    purpose: str | None = None


class BuildOut(Stamped):
    id: int
    product_id: int
    revision_id: int
    code: str
    phase: Phase
    status: BuildStatus
    fidelity: Fidelity | None
    technique: Technique | None
    partner_id: int | None
    line_id: int | None
    planned_quantity: int
    actual_quantity: int | None
    budget: float | None
    actual_cost: float | None
    start_date: dt.date | None
    end_date: dt.date | None
    purpose: str


class UnitCreate(Input):
    product_id: RecordId
    build_id: RecordId
    serial: str
    status: UnitStatus | None = None
    allocation: Allocation | None = None


class UnitUpdate(Input):
    build_id: RecordId | None = None
    status: UnitStatus | None = None
    allocation: Allocation | None = None


class UnitOut(Stamped):
    id: int
    product_id: int
    build_id: int
    serial: str
    status: UnitStatus
    allocation: Allocation


# --- findings, feedback, defect codes ---------------------------------------------------------


class FindingCreate(Input):
    product_id: RecordId
    title: str
    category: FindingCategory
    severity: Severity
    revision_id: RecordId | None = None
    build_id: RecordId | None = None
    description: str | None = None
    status: FindingStatus | None = None
    owner: str | None = None
    root_cause: str | None = None
    corrective_action: str | None = None
    fixed_in_revision_id: RecordId | None = None
    opened_on: dt.date | None = None
    closed_on: dt.date | None = None


class FindingUpdate(Input):
    title: str | None = None
    category: FindingCategory | None = None
    severity: Severity | None = None
    revision_id: RecordId | None = None
    build_id: RecordId | None = None
    description: str | None = None
    status: FindingStatus | None = None
    owner: str | None = None
    root_cause: str | None = None
    corrective_action: str | None = None
    fixed_in_revision_id: RecordId | None = None
    opened_on: dt.date | None = None
    closed_on: dt.date | None = None


class FindingOut(Stamped):
    id: int
    product_id: int
    title: str
    category: FindingCategory
    severity: Severity
    revision_id: int | None
    build_id: int | None
    description: str
    status: FindingStatus
    owner: str
    root_cause: str
    corrective_action: str
    fixed_in_revision_id: int | None
    opened_on: dt.date | None
    closed_on: dt.date | None


class FeedbackCreate(Input):
    product_id: RecordId
    source: FeedbackSource
    revision_id: RecordId | None = None
    requirement_id: RecordId | None = None
    finding_id: RecordId | None = None
    author: str | None = None
    rating: Int32 | None = Field(None, description="1 (poor) to 5 (excellent).")
    text: str | None = None
    received_on: dt.date | None = None


class FeedbackUpdate(Input):
    source: FeedbackSource | None = None
    revision_id: RecordId | None = None
    requirement_id: RecordId | None = None
    finding_id: RecordId | None = None
    author: str | None = None
    rating: Int32 | None = None
    text: str | None = None
    received_on: dt.date | None = None


class FeedbackOut(Stamped):
    id: int
    product_id: int
    source: FeedbackSource
    revision_id: int | None
    requirement_id: int | None
    finding_id: int | None
    author: str
    rating: int | None
    text: str
    received_on: dt.date | None


class DefectCodeCreate(Input):
    code: str
    description: str
    category: str | None = None


class DefectCodeUpdate(Input):
    description: str | None = None
    category: str | None = None


class DefectCodeOut(Output):
    id: int
    code: str
    description: str
    category: str


# --- gate decisions, audit trail, health ------------------------------------------------------


class GateDecisionCreate(Input):
    to_phase: Phase = Field(description="The gate: the phase the product would move into.")
    outcome: GateOutcome
    decided_by: str | None = Field(
        None, description="Who decided; defaults to the X-Phasegate-Actor of the request."
    )
    rationale: str = Field("", description="Required for no_go and conditional.")
    decided_at: AwareDatetime | None = Field(None, description="Defaults to now.")


class GateDecisionOut(Output):
    id: int
    product_id: int
    from_phase: Phase
    to_phase: Phase
    outcome: GateOutcome
    decided_at: dt.datetime
    decided_by: str
    rationale: str


class AuditEventOut(Output):
    id: int
    occurred_at: dt.datetime
    actor: str
    action: AuditAction
    entity_type: str = Field(description="The table of the record, e.g. builds.")
    entity_id: int | None
    product_id: int | None
    summary: str
    before: dict[str, Any] | None = Field(description="Changed fields before (null on create).")
    after: dict[str, Any] | None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="ok; degraded when the schema is not current; unavailable without database."
    )
    version: str
    database: str = Field(description="The database backend: sqlite or postgresql.")
    schema_revision: str | None
    schema_head: str | None
    schema_up_to_date: bool
