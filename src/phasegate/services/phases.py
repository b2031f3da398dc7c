"""Phase changes: a product moves on only through a recorded gate decision."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, select

from phasegate.domain.enums import AuditAction, GateOutcome, Phase
from phasegate.domain.errors import FieldError, InvalidInput
from phasegate.domain.phases import check_gate_sequence, lets_product_in, needs_rationale
from phasegate.services import audit
from phasegate.services.crud import Resource
from phasegate.services.paging import parse_enum
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


# Gate decisions as callers see them: every column is set by ``record_gate_decision``.
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


def record_gate_decision(
    uow: UnitOfWork,
    product: str | int,
    *,
    to_phase: Phase | str,
    outcome: GateOutcome | str,
    decided_by: str,
    rationale: str,
    decided_at: dt.datetime | None = None,
) -> GateDecision:
    """Record the decision at the gate into ``to_phase``; go or conditional go moves the product.

    A no-go is recorded too (the product stays). A conditional go needs the conditions written
    in ``rationale``. The gate must be the product's next one.
    """
    target = parse_enum(Phase, "to_phase", to_phase)
    verdict = parse_enum(GateOutcome, "outcome", outcome)
    _check_decision(verdict, decided_by, rationale)
    with uow:
        item = uow.session.merge(resolve_product(uow, product))
        check_gate_sequence(item.key, item.phase, target)
        decision = GateDecision(
            product_id=item.id,
            from_phase=item.phase,
            to_phase=target,
            outcome=verdict,
            decided_by=decided_by.strip(),
            rationale=rationale.strip(),
            decided_at=decided_at or dt.datetime.now(dt.UTC),
        )
        uow.session.add(decision)
        _apply(uow, item, decision)
        uow.commit()
        return decision


def _check_decision(verdict: GateOutcome, decided_by: str, rationale: str) -> None:
    if not decided_by.strip():
        raise InvalidInput(
            "decided_by: a gate decision needs the name of who decided",
            [FieldError("decided_by", "is required")],
        )
    if needs_rationale(verdict) and not rationale.strip():
        raise InvalidInput(
            f"rationale: a {verdict.label.lower()} decision needs a written reason",
            [FieldError("rationale", "is required")],
        )


def _apply(uow: UnitOfWork, item: Product, decision: GateDecision) -> None:
    """Move the product if the decision lets it in, and audit the decision."""
    before = audit.snapshot(item)
    if lets_product_in(decision.outcome):
        item.phase = decision.to_phase
    uow.session.flush()
    audit.record(
        uow,
        actor=decision.decided_by,
        action=AuditAction.DECISION,
        obj=item,
        before=before,
        after=audit.snapshot(item),
        summary=(
            f"gate {decision.from_phase.value} -> {decision.to_phase.value}: "
            f"{decision.outcome.label}"
        ),
    )


def gate_history(uow: UnitOfWork, product: str | int) -> list[GateDecision]:
    with uow:
        item = resolve_product(uow, product)
        return list(uow.session.scalars(decisions_of(item.id)))


def decisions_of(product_id: int) -> Select[GateDecision]:
    """The query for a product's gate decisions, oldest first."""
    return (
        select(GateDecision)
        .where(GateDecision.product_id == product_id)
        .order_by(GateDecision.decided_at, GateDecision.id)
    )
