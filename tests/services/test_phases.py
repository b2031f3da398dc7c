"""A recorded gate decision is the only way a product changes phase.

``phases.record_decision`` is called by a gate review's decision (``services.gates.decisions``,
tested in ``tests/services/gates/test_decisions.py``); here it is driven directly, as that
service does, inside a write block with the product read under the lock.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from phasegate.domain.enums import AuditAction, GateOutcome, Phase
from phasegate.domain.errors import Conflict, Forbidden, GateBlocked, InvalidInput
from phasegate.domain.policy import Role
from phasegate.services import phases, products
from phasegate.store.models import AuditEvent, GateDecision, Product
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_product, person


def _record(
    uow: UnitOfWork, key: str, to: Phase, outcome: GateOutcome, rationale: str = "", by: str = "PM"
) -> GateDecision:
    product_id = products.resolve_product(uow, key, actor=ACTOR).id
    with uow.write():
        item = uow.get(Product, product_id, lock=True)
        decision = phases.record_decision(
            uow, item, to_phase=to, outcome=outcome, rationale=rationale, decided_by=by
        )
        uow.commit()
        return decision


def test_go_moves_the_product_and_is_audited(uow: UnitOfWork) -> None:
    product = make_product(uow, key="GATE")
    decision = _record(uow, "gate", Phase.PILOT, GateOutcome.GO, by="Quality lead")
    assert decision.from_phase is Phase.PROTOTYPE and decision.outcome is GateOutcome.GO
    assert products.resolve_product(uow, product.id, actor=ACTOR).phase is Phase.PILOT
    with uow:
        event = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.DECISION)
        ).one()
    assert event.before == {"phase": "prototype"}
    assert event.after == {"phase": "pilot", "decided_by": "Quality lead"}
    assert event.actor == "Quality lead"
    assert "decided by Quality lead" in event.summary


def test_no_go_is_recorded_and_the_product_stays(uow: UnitOfWork) -> None:
    make_product(uow, key="STAY")
    _record(uow, "STAY", Phase.PILOT, GateOutcome.NO_GO, "Cpk too low on CTQ-3")
    assert products.resolve_product(uow, "STAY", actor=ACTOR).phase is Phase.PROTOTYPE
    history = phases.gate_history(uow, "STAY", actor=ACTOR)
    assert [(d.outcome, d.rationale) for d in history] == [
        (GateOutcome.NO_GO, "Cpk too low on CTQ-3")
    ]


def test_gates_cannot_be_skipped_or_repeated(uow: UnitOfWork) -> None:
    make_product(uow, key="SKIP")
    with pytest.raises(GateBlocked, match="next gate is pilot, not production"):
        _record(uow, "SKIP", Phase.PRODUCTION, GateOutcome.GO)
    _record(uow, "SKIP", Phase.PILOT, GateOutcome.GO)
    _record(uow, "SKIP", Phase.PRODUCTION, GateOutcome.CONDITIONAL, "after gage R&R on CTQ-2")
    with pytest.raises(Conflict, match="gate into production of product SKIP was already decided"):
        _record(uow, "SKIP", Phase.PRODUCTION, GateOutcome.GO)
    assert products.resolve_product(uow, "SKIP", actor=ACTOR).phase is Phase.PRODUCTION


def test_a_reason_is_required_unless_go(uow: UnitOfWork) -> None:
    make_product(uow, key="WHY")
    with pytest.raises(InvalidInput, match="needs a written reason"):
        _record(uow, "WHY", Phase.PILOT, GateOutcome.CONDITIONAL, " ")
    assert phases.gate_history(uow, "WHY", actor=ACTOR) == []


@pytest.mark.parametrize("role", [Role.VIEWER, Role.PARTNER])
def test_gate_history_is_read_by_internal_roles_only(uow: UnitOfWork, role: Role) -> None:
    make_product(uow, key="HIST")
    _record(uow, "HIST", Phase.PILOT, GateOutcome.GO)
    if role is Role.VIEWER:
        assert len(phases.gate_history(uow, "HIST", actor=person("v", role))) == 1
    else:
        with pytest.raises(Forbidden):
            phases.gate_history(uow, "HIST", actor=person("p", role))
