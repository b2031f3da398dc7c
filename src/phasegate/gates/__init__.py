"""Gate plans, criteria and their evaluation over an Evidence object. Pure.

A plan (:mod:`~phasegate.gates.plan`) lists criteria; each names a metric of the criteria
library (:mod:`~phasegate.gates.criteria`) judged on an :class:`~phasegate.gates.evidence.Evidence`
snapshot the services fill; :func:`evaluate` answers every criterion and suggests go, no-go or a
conditional go.
"""

from phasegate.gates.criteria import (
    METRICS,
    CriterionResult,
    CriterionStatus,
    Metric,
    evaluate_criterion,
    metric,
)
from phasegate.gates.evaluate import GateEvaluation, Waiver, evaluate, suggest
from phasegate.gates.evidence import (
    BomEvidence,
    BudgetEvidence,
    CharacteristicEvidence,
    ChecklistItem,
    ControlPlanEvidence,
    CostEvidence,
    Evidence,
    FindingEvidence,
    FpyEvidence,
    GaugeEvidence,
    LineEvidence,
    PartSourcing,
    PilotBuildEvidence,
    RegulatoryEvidence,
    RequirementEvidence,
)
from phasegate.gates.plan import GatePlan, default_plan, override, parse_plan
from phasegate.gates.spec import COMPARISONS, CriterionSpec

__all__ = [
    "COMPARISONS",
    "METRICS",
    "BomEvidence",
    "BudgetEvidence",
    "CharacteristicEvidence",
    "ChecklistItem",
    "ControlPlanEvidence",
    "CostEvidence",
    "CriterionResult",
    "CriterionSpec",
    "CriterionStatus",
    "Evidence",
    "FindingEvidence",
    "FpyEvidence",
    "GateEvaluation",
    "GatePlan",
    "GaugeEvidence",
    "LineEvidence",
    "Metric",
    "PartSourcing",
    "PilotBuildEvidence",
    "RegulatoryEvidence",
    "RequirementEvidence",
    "Waiver",
    "default_plan",
    "evaluate",
    "evaluate_criterion",
    "metric",
    "override",
    "parse_plan",
    "suggest",
]
