"""Phase changes: a product moves on only through a recorded gate decision.

A decision is prepared and taken in a gate review (``services.gates.decisions``), which calls
``record_decision`` when its sign-offs are complete; nothing else moves a product.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, select, update
from sqlalchemy.exc import IntegrityError

from phasegate.domain.enums import AuditAction, GateOutcome, Phase
from phasegate.domain.errors import Conflict, FieldError, InvalidInput
from phasegate.domain.phases import check_gate_sequence, lets_product_in, needs_rationale
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services import audit
from phasegate.services.access import authorize
from phasegate.services.crud import Resource
from phasegate.services.products import resolve_product
from phasegate.store.models import GateDecision, Product
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision at a stage gate: the gate (the phase the product would move into), its
    outcome, when and by whom it was taken, and why; the shapes that show one extend it."""

    to_phase: Phase
    outcome: GateOutcome
    decided_at: dt.datetime
    decided_by: str
    rationale: str


# Gate decisions as callers see them: every column is set by ``record_decision``.
GATE_DECISIONS = Resource(
    name="gate decision",
    model=GateDecision,
    required=(),
    read_only=(
        "product_id",
        "from_phase",
        "to_phase",
        "outcome",
        "decided_at",
        "decided_by",
        "rationale",
    ),
)


def record_decision(
    uow: UnitOfWork,
    item: Product,
    *,
    to_phase: Phase,
    outcome: GateOutcome,
    rationale: str,
    decided_by: str,
    decided_at: dt.datetime | None = None,
) -> GateDecision:
    """Record the decision at the gate into ``to_phase``; go or conditional go moves ``item``.

    The one path by which a product changes phase. It is called inside a write block, with
    ``item`` read under the write lock, by ``services.gates.decisions.decide`` once a gate
    review's sign-offs are complete: the caller checks who decides and commits. A no-go is
    recorded too (the product stays). The gate must be the product's next one (``GateBlocked``)
    and not passed yet (``Conflict``, also for all but one of concurrent decisions at one gate:
    the product's phase changes only from the phase the decision was taken in, and the database
    keeps one go or conditional go per gate). The decision and its audit event name
    ``decided_by``.
    """
    _check_decision(outcome, rationale)
    _check_not_passed(uow, item, to_phase)
    check_gate_sequence(item.key, item.phase, to_phase)
    decision = GateDecision(
        product_id=item.id,
        from_phase=item.phase,
        to_phase=to_phase,
        outcome=outcome,
        decided_by=decided_by,
        rationale=rationale.strip(),
        decided_at=decided_at or dt.datetime.now(dt.UTC),
    )
    _apply(uow, item, decision, actor=decided_by)
    return decision


def _check_decision(verdict: GateOutcome, rationale: str) -> None:
    if needs_rationale(verdict) and not rationale.strip():
        raise InvalidInput(
            f"rationale: a {verdict.label.lower()} decision needs a written reason",
            [FieldError("rationale", "is required")],
        )


PASSING = tuple(o for o in GateOutcome if lets_product_in(o))


def _check_not_passed(uow: UnitOfWork, item: Product, target: Phase) -> None:
    """``Conflict`` naming the earlier decision when the gate into ``target`` was passed."""
    earlier = uow.session.scalar(
        decisions_of(item.id).where(
            GateDecision.to_phase == target, GateDecision.outcome.in_(PASSING)
        )
    )
    if earlier is not None:
        raise Conflict(
            f"the gate into {target.value} of product {item.key} was already decided: "
            f"{earlier.outcome.label.lower()} by {earlier.decided_by} "
            f"on {earlier.decided_at:%Y-%m-%d %H:%M} UTC"
        )


def _apply(uow: UnitOfWork, item: Product, decision: GateDecision, *, actor: str) -> None:
    """Store the decision, move the product if the decision lets it in, and audit both."""
    before = audit.snapshot(item)
    uow.session.add(decision)
    try:
        uow.session.flush()
    except IntegrityError as error:  # a passing decision at this gate is already stored
        raise _decided_meanwhile(decision, item) from error
    if lets_product_in(decision.outcome):
        _move(uow, item, decision)
    event = audit.record(
        uow,
        actor=actor,
        action=AuditAction.DECISION,
        obj=item,
        before=before,
        after=audit.snapshot(item),
        summary=(
            f"gate {decision.from_phase.value} -> {decision.to_phase.value}: "
            f"{decision.outcome.label}, decided by {decision.decided_by}"
        ),
    )
    event.after = {**(event.after or {}), "decided_by": decision.decided_by}


def _move(uow: UnitOfWork, item: Product, decision: GateDecision) -> None:
    """Move the product into the gate's phase, only from the phase the decision was taken in."""
    moved = uow.session.execute(
        update(Product)
        .where(Product.id == item.id, Product.phase == decision.from_phase)
        .values(phase=decision.to_phase, version=Product.version + 1)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        raise _decided_meanwhile(decision, item)
    uow.session.refresh(item)


def _decided_meanwhile(decision: GateDecision, item: Product) -> Conflict:
    return Conflict(
        f"the gate into {decision.to_phase.value} of product {item.key} was already decided "
        "by a concurrent decision"
    )


def gate_history(uow: UnitOfWork, product: str | int, *, actor: Principal) -> list[GateDecision]:
    authorize(actor, Action.READ, Kind.GATE_DECISION)
    with uow:
        item = resolve_product(uow, product, actor=actor)
        return list(uow.session.scalars(decisions_of(item.id)))


def decisions_of(product_id: int) -> Select[GateDecision]:
    """The query for a product's gate decisions, oldest first."""
    return (
        select(GateDecision)
        .where(GateDecision.product_id == product_id)
        .order_by(GateDecision.decided_at, GateDecision.id)
    )
