"""Plain records the demo generator produces and the loader stores.

Records refer to each other by natural keys (product key, revision code, build code, station
name, characteristic name), never by database id: the generator knows nothing about storage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from phasegate.domain.enums import (
    Allocation,
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


@dataclass(frozen=True, slots=True)
class PartnerRec:
    name: str
    kind: PartnerKind
    capabilities: tuple[str, ...]
    phases_served: tuple[Phase, ...]
    country: str
    contact: str


@dataclass(frozen=True, slots=True)
class StationRec:
    name: str
    sequence: int
    equipment: str
    servers: int
    planned_cycle_time_s: float


@dataclass(frozen=True, slots=True)
class LineRec:
    name: str
    partner: str
    description: str
    stations: tuple[StationRec, ...]


@dataclass(frozen=True, slots=True)
class DefectCodeRec:
    code: str
    description: str
    category: str


@dataclass(frozen=True, slots=True)
class ProductRec:
    key: str
    name: str
    description: str
    target_unit_cost: float
    target_annual_volume: int
    target_launch_date: dt.date


@dataclass(frozen=True, slots=True)
class RevisionRec:
    product: str
    code: str
    description: str
    status: RevisionStatus
    released_on: dt.date | None


@dataclass(frozen=True, slots=True)
class RequirementRec:
    product: str
    key: str
    title: str
    description: str
    priority: Priority
    source: RequirementSource
    status: RequirementStatus
    rice: tuple[float, float, float, float]  # reach, impact, confidence, effort


@dataclass(frozen=True, slots=True)
class CharacteristicRec:
    product: str
    name: str
    unit: str
    lsl: float | None
    usl: float | None
    target: float | None
    ctq: bool
    requirement: str | None
    line: str | None
    station: str | None
    description: str


@dataclass(frozen=True, slots=True)
class BuildRec:
    product: str
    code: str
    revision: str
    phase: Phase
    status: BuildStatus
    fidelity: Fidelity | None
    technique: Technique | None
    partner: str
    line: str | None
    planned_quantity: int
    actual_quantity: int | None
    budget: float
    actual_cost: float | None
    start_date: dt.date
    end_date: dt.date | None
    purpose: str


@dataclass(frozen=True, slots=True)
class FindingRec:
    """A finding as first reported; ``resolution`` is applied later as an update."""

    ref: str  # unique within the demo; feedback points at it
    product: str
    revision: str
    build: str
    title: str
    description: str
    category: FindingCategory
    severity: Severity
    owner: str
    opened_on: dt.date
    resolution: Resolution | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    status: FindingStatus
    root_cause: str
    corrective_action: str
    fixed_in: str | None  # revision code
    closed_on: dt.date | None


@dataclass(frozen=True, slots=True)
class FeedbackRec:
    product: str
    revision: str | None
    requirement: str | None
    finding: str | None
    source: FeedbackSource
    author: str
    rating: int
    text: str
    received_on: dt.date


@dataclass(frozen=True, slots=True)
class GateRec:
    product: str
    to_phase: Phase
    outcome: GateOutcome
    decided_at: dt.datetime
    rationale: str
    decided_by: str = "Sofia Lindqvist (product)"  # chairs the gate review


# High-volume records of one build. ``unit`` is an index into ``BuildVolume.units``.


@dataclass(frozen=True, slots=True)
class UnitRec:
    serial: str
    status: UnitStatus
    allocation: Allocation
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PassRec:
    unit: int
    station: str
    started_at: dt.datetime
    ended_at: dt.datetime
    operator: str
    result: Outcome
    attempt: int


@dataclass(frozen=True, slots=True)
class MeasurementRec:
    characteristic: str
    value: float
    outcome: Outcome
    measured_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RunRec:
    unit: int
    station: str | None
    procedure: str
    outcome: Outcome
    started_at: dt.datetime
    ended_at: dt.datetime
    operator: str
    source: str
    source_id: str
    measurements: tuple[MeasurementRec, ...]


@dataclass(frozen=True, slots=True)
class DefectRec:
    unit: int
    station: str | None
    code: str
    severity: Severity
    disposition: Disposition
    cost: float
    found_at: dt.datetime
    notes: str


@dataclass(slots=True)
class BuildVolume:
    product: str
    build: str
    line: str | None
    units: list[UnitRec] = field(default_factory=list)
    passes: list[PassRec] = field(default_factory=list)
    runs: list[RunRec] = field(default_factory=list)
    defects: list[DefectRec] = field(default_factory=list)

    @property
    def measurement_count(self) -> int:
        return sum(len(r.measurements) for r in self.runs)

    @property
    def row_count(self) -> int:
        return (
            len(self.units)
            + len(self.passes)
            + len(self.runs)
            + self.measurement_count
            + len(self.defects)
        )


@dataclass(slots=True)
class DemoData:
    seed: int
    partners: list[PartnerRec]
    lines: list[LineRec]
    defect_codes: list[DefectCodeRec]
    products: list[ProductRec]
    revisions: list[RevisionRec]
    requirements: list[RequirementRec]
    characteristics: list[CharacteristicRec]
    builds: list[BuildRec]
    findings: list[FindingRec]
    feedback: list[FeedbackRec]
    gates: list[GateRec]
    volumes: list[BuildVolume]
