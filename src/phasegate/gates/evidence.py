"""The evidence a gate is judged on: a frozen snapshot the services fill from the database.

Every field that may not be known yet is optional: ``None`` means "no data yet", and a
criterion that needs it answers ``insufficient_evidence`` naming what is missing, never a pass.
An empty tuple is data (e.g. "no open findings"), not missing data, except where a criterion
says an empty list cannot be judged (no CTQs, no BOM, no checklist items).
"""

from __future__ import annotations

from dataclasses import dataclass

from phasegate.domain.enums import FindingCategory, Phase, Priority, RequirementStatus, Severity
from phasegate.domain.errors import invalid

__all__ = [
    "BomEvidence",
    "BudgetEvidence",
    "CharacteristicEvidence",
    "ChecklistItem",
    "ControlPlanEvidence",
    "CostEvidence",
    "Evidence",
    "FindingEvidence",
    "FpyEvidence",
    "GaugeEvidence",
    "LineEvidence",
    "PartSourcing",
    "PilotBuildEvidence",
    "RegulatoryEvidence",
    "RequirementEvidence",
]


@dataclass(frozen=True, slots=True)
class RequirementEvidence:
    """A requirement, its priority and status, and the characteristics that verify it."""

    key: str
    title: str
    priority: Priority
    status: RequirementStatus
    characteristics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CharacteristicEvidence:
    """One characteristic's measurements on the latest build, summarised.

    ``n`` is the number of measurements (0: not measured on that build). ``out_of_spec`` counts
    the measurements outside [LSL, USL]; ``cpk`` is the point estimate (``None`` without spec
    limits or with fewer than two measurements) and ``cpk_dof`` the degrees of freedom of its
    sigma (``None``: n - 1); the gate computes the lower confidence bound itself, at the level
    its plan asks for. ``open_signals`` counts unresolved run-rule signals on its chart
    (``None``: not charted).
    """

    name: str
    build: str
    ctq: bool
    n: int
    mean: float | None = None
    out_of_spec: int | None = None
    cpk: float | None = None
    cpk_dof: float | None = None
    open_signals: int | None = None


@dataclass(frozen=True, slots=True)
class FindingEvidence:
    """A finding with its category, severity and whether it is still open."""

    id: int
    title: str
    category: FindingCategory
    severity: Severity
    open: bool


@dataclass(frozen=True, slots=True)
class BomEvidence:
    """The BOM of the revision going through the gate, costed per unit.

    ``uncosted`` names the parts with no cost yet; ``cost_per_unit`` is the material cost of the
    parts that have one; ``target_cost`` is the material cost per unit the BOM is held to
    (often the product's target unit cost).
    """

    revision: str
    parts: int
    uncosted: tuple[str, ...]
    cost_per_unit: float
    target_cost: float | None


@dataclass(frozen=True, slots=True)
class BudgetEvidence:
    """Planned and actual spend of one phase (``None``: not recorded)."""

    phase: Phase
    planned: float | None
    actual: float | None


@dataclass(frozen=True, slots=True)
class PilotBuildEvidence:
    """A pilot build: its code, the line it was built on and how many units it made."""

    code: str
    line: str | None
    units_built: int | None


@dataclass(frozen=True, slots=True)
class FpyEvidence:
    """First-pass counts of the pilot: units that passed every station first time, of all."""

    build: str
    passed_first: int
    units: int

    def __post_init__(self) -> None:
        if self.units < 0:
            raise invalid("fpy.units", f"must not be negative, got {self.units}")
        if not 0 <= self.passed_first <= self.units:
            raise invalid(
                "fpy.passed_first",
                f"must be between 0 and units ({self.units}), got {self.passed_first}",
            )


@dataclass(frozen=True, slots=True)
class LineEvidence:
    """The intended line's bottleneck cycle time, the takt time and the simulated throughput.

    ``simulated_throughput_per_hour`` is ``None`` until the line has been simulated;
    ``demand_per_hour`` is the demand rate the throughput is compared with.
    """

    name: str
    bottleneck: str | None
    bottleneck_cycle_time_s: float | None
    takt_s: float | None
    simulated_throughput_per_hour: float | None = None
    demand_per_hour: float | None = None


@dataclass(frozen=True, slots=True)
class CostEvidence:
    """Unit cost projected to ``volume`` units (the product's target volume)."""

    projected_unit_cost: float | None
    volume: int | None


@dataclass(frozen=True, slots=True)
class ControlPlanEvidence:
    """The released control plan and the characteristics it checks."""

    name: str
    version: str
    characteristics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GaugeEvidence:
    """The latest gage R&R study of the gauge measuring one characteristic.

    ``pct_grr`` is %GRR of the study variation (``None``: no study); ``ndc`` the number of
    distinct categories.
    """

    characteristic: str
    gauge: str | None
    pct_grr: float | None
    ndc: int | None


@dataclass(frozen=True, slots=True)
class PartSourcing:
    """Whether a part has a supplier, only one, and whether that single-source risk is accepted."""

    part: str
    sourced: bool
    single_source: bool
    risk_accepted: bool


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One go-to-market checklist item."""

    name: str
    done: bool


@dataclass(frozen=True, slots=True)
class RegulatoryEvidence:
    """Pilot units allocated to regulatory approval, and how many the approvals need."""

    allocated: int
    required: int | None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything a gate criterion may look at, as of one moment; ``None`` = not known yet."""

    product: str
    phase: Phase
    target_unit_cost: float | None = None
    target_annual_volume: int | None = None
    requirements: tuple[RequirementEvidence, ...] | None = None
    latest_build: str | None = None
    characteristics: tuple[CharacteristicEvidence, ...] | None = None
    findings: tuple[FindingEvidence, ...] | None = None
    bom: BomEvidence | None = None
    pilot_partner: str | None = None
    pilot_line: str | None = None
    budgets: tuple[BudgetEvidence, ...] | None = None
    intended_line: str | None = None
    pilot_builds: tuple[PilotBuildEvidence, ...] | None = None
    fpy: FpyEvidence | None = None
    line_performance: LineEvidence | None = None
    cost: CostEvidence | None = None
    control_plan: ControlPlanEvidence | None = None
    gauges: tuple[GaugeEvidence, ...] | None = None
    parts: tuple[PartSourcing, ...] | None = None
    go_to_market: tuple[ChecklistItem, ...] | None = None
    regulatory: RegulatoryEvidence | None = None

    def ctqs(self) -> tuple[CharacteristicEvidence, ...] | None:
        """The CTQ characteristics of the latest build; ``None`` when none are known."""
        if self.characteristics is None:
            return None
        return tuple(c for c in self.characteristics if c.ctq)
