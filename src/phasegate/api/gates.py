"""Gate decisions: the record of each stage gate, and the only way a product changes phase.

Decisions are taken through gate reviews (``api/gate_decisions.py``); here they are listed.
"""

from __future__ import annotations

from fastapi import APIRouter

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.api.resources import RefPath
from phasegate.api.schemas import GateDecisionOut, RecordOut
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services import phases

router = APIRouter(
    prefix="/products/{ref}/gate-decisions", tags=["Gate decisions"], route_class=GuardedRoute
)


@router.get(
    "",
    response_model=list[GateDecisionOut],  # type: ignore[valid-type]
    summary="List a product's gate decisions",
    description="Every decision recorded for the product, oldest first. Decisions are "
    "taken through gate reviews: `POST /products/{ref}/gates/{to}/reviews`.",
    operation_id="list_gate_decisions",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.GATE_DECISION)},
)
def list_gate_decisions(ref: RefPath, uow: Uow, actor: Acting) -> list[RecordOut]:
    decisions = phases.gate_history(uow, ref, actor=actor)
    return [GateDecisionOut.from_record(d) for d in decisions]
