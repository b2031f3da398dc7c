"""Phase changes: a product moves on only through a recorded gate decision."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from phasegate.domain.enums import AuditAction, GateOutcome, Phase
from phasegate.domain.errors import FieldError, GateBlocked, InvalidInput
from phasegate.services import audit
from phasegate.services.products import resolve_product
from phasegate.store.models import GateDecision
from phasegate.store.uow import UnitOfWork


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
    try:
        target = Phase(to_phase)
    except ValueError:
        raise InvalidInput(
            f"to_phase: {to_phase!r} is not one of: pilot, production",
            [FieldError("to_phase", "unknown phase")],
        ) from None
    try:
        verdict = GateOutcome(outcome)
    except ValueError:
        raise InvalidInput(
            f"outcome: {outcome!r} is not one of: go, no_go, conditional",
            [FieldError("outcome", "unknown outcome")],
        ) from None
    if not decided_by.strip():
        raise InvalidInput(
            "decided_by: a gate decision needs the name of who decided",
            [FieldError("decided_by", "is required")],
        )
    if verdict is not GateOutcome.GO and not rationale.strip():
        raise InvalidInput(
            f"rationale: a {verdict.label.lower()} decision needs a written reason",
            [FieldError("rationale", "is required")],
        )
    with uow:
        item = resolve_product(uow, product)
        item = uow.session.merge(item)
        expected = item.phase.next()
        if expected is None or target is not expected:
            raise GateBlocked(
                f"product {item.key} is in {item.phase.label.lower()}; "
                f"its next gate is {'none' if expected is None else expected.value}, "
                f"not {target.value}"
            )
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
        before = audit.snapshot(item)
        if verdict is not GateOutcome.NO_GO:
            item.phase = target
        uow.session.flush()
        audit.record(
            uow,
            actor=decision.decided_by,
            action=AuditAction.DECISION,
            obj=item,
            before=before,
            after=audit.snapshot(item),
            summary=f"gate {decision.from_phase.value} -> {target.value}: {verdict.label}",
        )
        uow.commit()
        return decision


def gate_history(uow: UnitOfWork, product: str | int) -> list[GateDecision]:
    with uow:
        item = resolve_product(uow, product)
        stmt = (
            select(GateDecision)
            .where(GateDecision.product_id == item.id)
            .order_by(GateDecision.decided_at, GateDecision.id)
        )
        return list(uow.session.scalars(stmt))
