"""Gate decisions for tests that need a product in a later phase: taken the one way there is,
through a review, from a frozen evaluation that suggests a go (a plan with no criteria)."""

from __future__ import annotations

import datetime as dt

from phasegate.domain.enums import GateOutcome, Phase
from phasegate.domain.policy import Principal, Role
from phasegate.gates import GateEvaluation
from phasegate.services import products
from phasegate.services.gates import decisions
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR


def empty_evaluation(key: str, from_phase: Phase, to: Phase) -> GateEvaluation:
    """An evaluation of a plan with no criteria: it suggests a go."""
    return GateEvaluation(key, from_phase, to, "test-plan", "1", GateOutcome.GO, ())


def pass_gate(
    uow: UnitOfWork,
    product: str | int,
    to: Phase | str,
    *,
    outcome: GateOutcome | str = GateOutcome.GO,
    rationale: str = "",
    decided_by: str = "PM",
    decided_at: dt.datetime | None = None,
    actions: tuple[decisions.ActionItem, ...] = (),
) -> decisions.ReviewView:
    """Open a review of ``product``'s gate into ``to``, sign it off by every required role
    and decide it as ``decided_by`` (a product manager)."""
    item = products.resolve_product(uow, product, actor=ACTOR)
    target = Phase(to)
    decider = Principal(name=decided_by, role=Role.PRODUCT)
    evaluation = empty_evaluation(item.key, item.phase, target)
    review = decisions.open_decision(uow, item.key, target, evaluation=evaluation, actor=decider)
    for role in decisions.REQUIRED_ROLES:
        signer = Principal(name=f"{role.value} lead", role=role)
        decisions.sign(uow, review.id, approve=True, actor=signer)
    return decisions.decide(
        uow,
        review.id,
        outcome=outcome,
        rationale=rationale,
        actions=actions,
        actor=decider,
        at=decided_at,
    )
