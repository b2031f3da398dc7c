"""Evaluate a gate plan over the evidence: every criterion's answer and the overall suggestion.

The suggestion is a suggestion: people decide, by role, and may waive a criterion with a written
reason. The rule:

- ``no_go`` when any blocking criterion fails or lacks evidence (missing data never lets a
  product through a blocking criterion);
- else ``conditional`` when any advisory criterion fails or lacks evidence;
- else ``go`` (every criterion passed or was waived).

A waiver turns a ``fail`` or an ``insufficient_evidence`` into ``waived``; the answer it
replaced, its reason and the waiving role are kept in the criterion's evidence. A waiver of a
criterion that passed changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from phasegate.domain.enums import GateOutcome, Phase
from phasegate.domain.errors import invalid
from phasegate.domain.policy import Role
from phasegate.gates.criteria import CriterionResult, CriterionStatus, evaluate_criterion
from phasegate.gates.evidence import Evidence
from phasegate.gates.plan import GatePlan

__all__ = ["GateEvaluation", "Waiver", "evaluate", "suggest"]

_WAIVABLE = (CriterionStatus.FAIL, CriterionStatus.INSUFFICIENT)


@dataclass(frozen=True, slots=True)
class Waiver:
    """A decision to let a criterion's fail stand aside, with the reason and the role waiving."""

    criterion_id: str
    reason: str
    by: Role


@dataclass(frozen=True, slots=True)
class GateEvaluation:
    """A plan evaluated on one product's evidence."""

    product: str
    from_phase: Phase
    to_phase: Phase
    plan_name: str
    plan_version: str
    suggestion: GateOutcome
    criteria: tuple[CriterionResult, ...]

    def as_dict(self) -> dict[str, Any]:
        """The ``gates evaluate`` JSON contract (floats unrounded)."""
        return {
            "product": self.product,
            "from": self.from_phase.value,
            "to": self.to_phase.value,
            "plan": {"name": self.plan_name, "version": self.plan_version},
            "suggestion": self.suggestion.value,
            "criteria": [c.as_dict() for c in self.criteria],
        }


def suggest(results: Iterable[CriterionResult]) -> GateOutcome:
    """The suggestion for ``results``: see the module docstring for the rule."""
    unmet = [r for r in results if r.status not in (CriterionStatus.PASS, CriterionStatus.WAIVED)]
    if any(r.blocking for r in unmet):
        return GateOutcome.NO_GO
    return GateOutcome.CONDITIONAL if unmet else GateOutcome.GO


def _check_waivers(plan: GatePlan, waivers: tuple[Waiver, ...]) -> dict[str, Waiver]:
    ids = {spec.id for spec in plan.criteria}
    by_id: dict[str, Waiver] = {}
    for i, waiver in enumerate(waivers):
        if waiver.criterion_id not in ids:
            raise invalid(
                f"waivers[{i}].criterion_id",
                f"plan {plan.name} has no criterion {waiver.criterion_id!r}",
            )
        if not waiver.reason.strip():
            raise invalid(f"waivers[{i}].reason", "a waiver needs a written reason")
        if waiver.criterion_id in by_id:
            raise invalid(
                f"waivers[{i}].criterion_id", f"{waiver.criterion_id!r} is already waived"
            )
        by_id[waiver.criterion_id] = waiver
    return by_id


def _waive(result: CriterionResult, waiver: Waiver) -> CriterionResult:
    if result.status not in _WAIVABLE:
        return result
    evidence = dict(result.evidence)
    evidence["waiver"] = {
        "reason": waiver.reason.strip(),
        "by": waiver.by.value,
        "status": result.status.value,
    }
    return replace(result, status=CriterionStatus.WAIVED, evidence=evidence)


def evaluate(plan: GatePlan, evidence: Evidence, waivers: Iterable[Waiver] = ()) -> GateEvaluation:
    """Judge every criterion of ``plan`` on ``evidence``, apply ``waivers`` and suggest.

    Raises ``InvalidInput`` for a waiver of a criterion the plan does not have, a waiver with no
    written reason, or two waivers of one criterion.
    """
    by_id = _check_waivers(plan, tuple(waivers))
    results = []
    for spec in plan.criteria:
        result = evaluate_criterion(spec, evidence)
        waiver = by_id.get(spec.id)
        results.append(result if waiver is None else _waive(result, waiver))
    return GateEvaluation(
        product=evidence.product,
        from_phase=plan.from_phase,
        to_phase=plan.to_phase,
        plan_name=plan.name,
        plan_version=plan.version,
        suggestion=suggest(results),
        criteria=tuple(results),
    )
