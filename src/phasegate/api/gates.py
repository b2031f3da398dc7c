"""Gate decisions: the record of each stage gate, and the only way a product changes phase."""

from __future__ import annotations

from fastapi import APIRouter

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import CREATE_UNDER_ERRORS, READ_ERRORS
from phasegate.api.resources import RefPath
from phasegate.api.schemas import GateDecisionCreate, GateDecisionOut, RecordOut
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services import phases

router = APIRouter(
    prefix="/products/{ref}/gate-decisions", tags=["Gate decisions"], route_class=GuardedRoute
)


@router.get(
    "",
    response_model=list[GateDecisionOut],  # type: ignore[valid-type]
    summary="List a product's gate decisions",
    description="Every decision recorded for the product, oldest first.",
    operation_id="list_gate_decisions",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.GATE_DECISION)},
)
def list_gate_decisions(ref: RefPath, uow: Uow, actor: Acting) -> list[RecordOut]:
    decisions = phases.gate_history(uow, ref, actor=actor)
    return [GateDecisionOut.from_record(d) for d in decisions]


@router.post(
    "",
    status_code=201,
    response_model=GateDecisionOut,
    summary="Record a gate decision",
    description="Record the decision at the product's next gate, decided by the token's user "
    "(`decided_by`). `go` and `conditional` move the product into `to_phase`; `no_go` is "
    "recorded and the product stays. Deciding any other gate than the next one is refused with "
    "409 `gate_blocked`.",
    operation_id="record_gate_decision",
    responses=CREATE_UNDER_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.DECIDE_GATE, Kind.GATE_DECISION)},
)
def record_gate_decision(
    ref: RefPath, body: GateDecisionCreate, uow: Uow, actor: Acting
) -> RecordOut:
    decision = phases.record_gate_decision(
        uow,
        ref,
        to_phase=body.to_phase,
        outcome=body.outcome,
        rationale=body.rationale,
        decided_at=body.decided_at,
        actor=actor,
    )
    return GateDecisionOut.from_record(decision)
