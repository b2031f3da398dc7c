"""Plain records the demo generator produces and the loader stores.

Records refer to each other by natural keys (product key, revision code, build code, station
name, characteristic name), never by database id: the generator knows nothing about storage.
The high-volume records of a build are the volume service's own (``services.volume``).
Fields with a default may be left out of the data files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from phasegate.domain.enums import (
    BuildStatus,
    FeedbackSource,
    Fidelity,
    FindingCategory,
    FindingStatus,
    PartnerKind,
    Phase,
    Priority,
    RequirementSource,
    RequirementStatus,
    RevisionStatus,
    Severity,
    Technique,
)
from phasegate.services.phases import Decision
from phasegate.services.volume import BuildVolume


@dataclass(frozen=True, slots=True)
class PartnerRec:
    """A manufacturing partner."""

    name: str
    kind: PartnerKind
    capabilities: tuple[str, ...]
    phases_served: tuple[Phase, ...]
    country: str
    contact: str


@dataclass(frozen=True, slots=True)
class StationRec:
    """A station of a line."""

    name: str
    sequence: int
    equipment: str
    servers: int
    planned_cycle_time_s: float


@dataclass(frozen=True, slots=True)
class LineRec:
    """A production line with its stations, in flow order."""

    name: str
    partner: str
    description: str
    stations: tuple[StationRec, ...]


@dataclass(frozen=True, slots=True)
class DefectCodeRec:
    """A defect code."""

    code: str
    description: str
    category: str


@dataclass(frozen=True, slots=True)
class ProductRec:
    """A product with its targets."""

    key: str
    name: str
    description: str
    target_unit_cost: float
    target_annual_volume: int
    target_launch_date: dt.date


@dataclass(frozen=True, slots=True)
class RevisionRec:
    """A design revision of a product."""

    product: str
    code: str
    description: str
    status: RevisionStatus
    released_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Rice:
    """RICE prioritisation: reach (people a year), impact, confidence (0–1), effort."""

    reach: float
    impact: float
    confidence: float
    effort: float


@dataclass(frozen=True, slots=True)
class RequirementRec:
    """A requirement of a product."""

    product: str
    key: str
    title: str
    description: str
    priority: Priority
    source: RequirementSource
    status: RequirementStatus
    rice: Rice


@dataclass(frozen=True, slots=True)
class CharacteristicRec:
    """A measured characteristic of a product, with its limits."""

    product: str
    name: str
    unit: str
    ctq: bool
    description: str
    lsl: float | None = None
    usl: float | None = None
    target: float | None = None
    requirement: str | None = None  # requirement key
    line: str | None = None  # with ``station``: where it is measured on the line
    station: str | None = None


@dataclass(frozen=True, slots=True)
class BuildRec:
    """A build of a revision: a prototype build, a pilot run or a production run."""

    product: str
    code: str
    revision: str
    phase: Phase
    status: BuildStatus
    partner: str
    planned_quantity: int
    budget: float
    start_date: dt.date
    purpose: str
    fidelity: Fidelity | None = None  # prototype builds
    technique: Technique | None = None  # prototype builds
    line: str | None = None  # pilot and production builds
    actual_quantity: int | None = None
    actual_cost: float | None = None
    end_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a finding was resolved."""

    status: FindingStatus
    root_cause: str
    corrective_action: str = ""
    fixed_in: str | None = None  # revision code
    closed_on: dt.date | None = None


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
class FeedbackRec:
    """Feedback on a product, a revision, a requirement or a finding."""

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
class GateRec(Decision):
    """A decision at a stage gate of a product; in the data files ``rationale`` may use the
    placeholders the generator fills in."""

    product: str


@dataclass(frozen=True, slots=True)
class DemoData:
    """Everything ``generate`` produces for one seed."""

    seed: int
    partners: tuple[PartnerRec, ...]
    lines: tuple[LineRec, ...]
    defect_codes: tuple[DefectCodeRec, ...]
    products: tuple[ProductRec, ...]
    revisions: tuple[RevisionRec, ...]
    requirements: tuple[RequirementRec, ...]
    characteristics: tuple[CharacteristicRec, ...]
    builds: tuple[BuildRec, ...]
    findings: tuple[FindingRec, ...]
    feedback: tuple[FeedbackRec, ...]
    gates: tuple[GateRec, ...]
    volumes: dict[str, BuildVolume]  # by build code, in the order of ``builds``

    @property
    def volume_rows(self) -> int:
        return sum(v.row_count for v in self.volumes.values())
