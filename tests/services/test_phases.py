"""Gate decisions are the only way a product changes phase."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from phasegate.domain.enums import AuditAction, GateOutcome, Phase
from phasegate.domain.errors import Conflict, GateBlocked, InvalidInput
from phasegate.services import phases, products
from phasegate.store.models import AuditEvent
from phasegate.store.uow import UnitOfWork
from tests.factories import make_product


def test_go_moves_the_product_and_is_audited(uow: UnitOfWork) -> None:
    product = make_product(uow, key="GATE")
    decision = phases.record_gate_decision(
        uow, "gate", to_phase="pilot", outcome="go", decided_by="Quality lead", rationale=""
    )
    assert decision.from_phase is Phase.PROTOTYPE and decision.outcome is GateOutcome.GO
    assert products.resolve_product(uow, product.id).phase is Phase.PILOT
    with uow:
        event = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == AuditAction.DECISION)
        ).one()
    assert event.before == {"phase": "prototype"}
    assert event.after == {"phase": "pilot", "decided_by": "Quality lead"}
    assert event.actor == "Quality lead"  # who decided recorded it, as nobody else is named


def test_no_go_is_recorded_and_the_product_stays(uow: UnitOfWork) -> None:
    make_product(uow, key="STAY")
    phases.record_gate_decision(
        uow,
        "STAY",
        to_phase="pilot",
        outcome="no_go",
        decided_by="PM",
        rationale="Cpk too low on CTQ-3",
    )
    assert products.resolve_product(uow, "STAY").phase is Phase.PROTOTYPE
    assert [d.outcome for d in phases.gate_history(uow, "STAY")] == [GateOutcome.NO_GO]


def test_gates_cannot_be_skipped_or_repeated(uow: UnitOfWork) -> None:
    make_product(uow, key="SKIP")
    with pytest.raises(GateBlocked, match="next gate is pilot, not production"):
        phases.record_gate_decision(
            uow, "SKIP", to_phase="production", outcome="go", decided_by="PM", rationale=""
        )
    phases.record_gate_decision(
        uow, "SKIP", to_phase="pilot", outcome="go", decided_by="PM", rationale=""
    )
    phases.record_gate_decision(
        uow,
        "SKIP",
        to_phase="production",
        outcome="conditional",
        decided_by="PM",
        rationale="ship after gage R&R on CTQ-2",
    )
    # A gate passed already is named as such (no longer "its next gate is none").
    with pytest.raises(Conflict, match="gate into production of product SKIP was already decided"):
        phases.record_gate_decision(
            uow, "SKIP", to_phase="production", outcome="go", decided_by="PM", rationale=""
        )


def test_a_reason_is_required_unless_go(uow: UnitOfWork) -> None:
    make_product(uow, key="WHY")
    with pytest.raises(InvalidInput, match="needs a written reason"):
        phases.record_gate_decision(
            uow, "WHY", to_phase="pilot", outcome="conditional", decided_by="PM", rationale=" "
        )
    with pytest.raises(InvalidInput, match=r"unknown|not one of"):
        phases.record_gate_decision(
            uow, "WHY", to_phase="pilot", outcome="maybe", decided_by="PM", rationale=""
        )


def test_the_audit_names_who_recorded_and_keeps_who_decided(uow: UnitOfWork) -> None:
    product = make_product(uow, key="WHO")
    decision = phases.record_gate_decision(
        uow,
        "who",
        to_phase="pilot",
        outcome="no_go",
        decided_by="Gate board",
        rationale="yield too low",
        actor="api-client",
    )
    assert decision.decided_by == "Gate board"
    with uow:
        event = uow.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.product_id == product.id)
            .where(AuditEvent.action == AuditAction.DECISION)
        ).one()
    assert event.actor == "api-client"
    assert event.before == {} and event.after == {"decided_by": "Gate board"}
    assert "decided by Gate board" in event.summary
