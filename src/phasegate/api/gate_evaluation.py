"""A product's next stage gate evaluated on its evidence: the ``gates evaluate`` contract.

``GET /products/{ref}/gates/{to}/evaluation`` answers what ``phasegate gates evaluate PRODUCT
--to pilot|production --format json`` prints (``services.gates.evaluation.evaluate_gate``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.api.resources import RefPath
from phasegate.domain.enums import GateOutcome, Phase
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.gates import CriterionStatus
from phasegate.services.gates.evaluation import evaluate_gate

router = APIRouter(tags=["Gates"], route_class=GuardedRoute)

GatePath = Annotated[
    Phase, Path(description="The gate: the phase the product would move into (its next).")
]


class PlanOut(BaseModel):
    """The gate plan the criteria come from, as a decision records it."""

    name: str
    version: str = Field(description='The plan\'s version; "<version>+<label>" when overridden.')


class CriterionOut(BaseModel):
    """One criterion of the plan judged on the product's evidence."""

    id: str
    title: str
    status: CriterionStatus
    blocking: bool = Field(description="False: advisory; it can only make a go conditional.")
    value: float | None = Field(description="The metric's value; null without evidence.")
    threshold: float
    confidence: float | None = Field(description="Confidence level of sampling metrics.")
    evidence: dict[str, Any] = Field(
        description="The data the value came from; `missing` names what was not there."
    )
    links: list[dict[str, Any]] = Field(
        description='Where the evidence lives, e.g. {"kind": "build", "code": "P2"}.'
    )


class GateEvaluationOut(BaseModel):
    """The ``gates evaluate`` contract (floats unrounded)."""

    model_config = ConfigDict(populate_by_name=True)

    product: str
    from_phase: Phase = Field(alias="from")
    to: Phase
    plan: PlanOut
    suggestion: GateOutcome
    criteria: list[CriterionOut]


@router.get(
    "/products/{ref}/gates/{to}/evaluation",
    response_model=GateEvaluationOut,
    response_model_by_alias=True,
    summary="Evaluate a product's next gate",
    description="Every criterion of the gate's plan (the product's latest override of the "
    "default plan, or the default) judged on the evidence in the database now: `pass`, "
    "`fail`, `insufficient_evidence` (with `evidence.missing`) or `waived`; and the "
    "suggestion `go`, `no_go` or `conditional`. `to` must be the product's next phase.",
    operation_id="evaluate_gate",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.GATE_DECISION)},
)
def get_gate_evaluation(ref: RefPath, to: GatePath, uow: Uow, actor: Acting) -> dict[str, Any]:
    return evaluate_gate(uow, ref, to, actor=actor).as_dict()
