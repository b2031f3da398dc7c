"""Gate decisions are the only way a product changes phase."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from phasegate.domain.enums import AuditAction, GateOutcome, Phase
from phasegate.domain.errors import Conflict, Forbidden, GateBlocked, InvalidInput
from phasegate.domain.policy import Role
from phasegate.services import phases, products
from phasegate.store.models import AuditEvent
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_product, person

PM = person("PM", Role.PRODUCT)


def test_go_moves_the_product_and_is_audited(uow: UnitOfWork) -> None:
    product = make_product(uow, key="GATE")
    decision = phases.record_gate_decision(
        uow,
        "gate",
        to_phase="pilot",
        outcome="go",
        actor=person("Quality lead", Role.PRODUCT),
        rationale="",
    )
    assert decision.from_phase is Phase.PROTOTYPE and decision.outcome is GateOutcome.GO
    assert products.resolve_product(uow, product.id, actor=ACTOR).phase is Phase.PILOT
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
        actor=PM,
        rationale="Cpk too low on CTQ-3",
    )
    assert products.resolve_product(uow, "STAY", actor=ACTOR).phase is Phase.PROTOTYPE
    assert [d.outcome for d in phases.gate_history(uow, "STAY", actor=ACTOR)] == [GateOutcome.NO_GO]


def test_gates_cannot_be_skipped_or_repeated(uow: UnitOfWork) -> None:
    make_product(uow, key="SKIP")
    with pytest.raises(GateBlocked, match="next gate is pilot, not production"):
        phases.record_gate_decision(
            uow, "SKIP", to_phase="production", outcome="go", actor=PM, rationale=""
        )
    phases.record_gate_decision(uow, "SKIP", to_phase="pilot", outcome="go", actor=PM, rationale="")
    phases.record_gate_decision(
        uow,
        "SKIP",
        to_phase="production",
        outcome="conditional",
        actor=PM,
        rationale="ship after gage R&R on CTQ-2",
    )
    # A gate passed already is named as such (no longer "its next gate is none").
    with pytest.raises(Conflict, match="gate into production of product SKIP was already decided"):
        phases.record_gate_decision(
            uow, "SKIP", to_phase="production", outcome="go", actor=PM, rationale=""
        )


def test_a_reason_is_required_unless_go(uow: UnitOfWork) -> None:
    make_product(uow, key="WHY")
    with pytest.raises(InvalidInput, match="needs a written reason"):
        phases.record_gate_decision(
            uow, "WHY", to_phase="pilot", outcome="conditional", actor=PM, rationale=" "
        )
    with pytest.raises(InvalidInput, match=r"unknown|not one of"):
        phases.record_gate_decision(
            uow, "WHY", to_phase="pilot", outcome="maybe", actor=PM, rationale=""
        )


def test_the_deciding_user_is_the_actor_and_the_audit_names_them(uow: UnitOfWork) -> None:
    product = make_product(uow, key="WHO")
    decision = phases.record_gate_decision(
        uow,
        "who",
        to_phase="pilot",
        outcome="no_go",
        rationale="yield too low",
        actor=person("gate-board", Role.PRODUCT),
    )
    assert decision.decided_by == "gate-board"
    with uow:
        event = uow.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.product_id == product.id)
            .where(AuditEvent.action == AuditAction.DECISION)
        ).one()
    assert event.actor == "gate-board"
    assert event.before == {} and event.after == {"decided_by": "gate-board"}
    assert "decided by gate-board" in event.summary


@pytest.mark.parametrize("role", [Role.ENGINEER, Role.QUALITY, Role.OPERATIONS, Role.VIEWER])
def test_only_product_and_admin_decide_gates(uow: UnitOfWork, role: Role) -> None:
    make_product(uow, key="DENY")
    with pytest.raises(Forbidden, match=rf"x \({role.value}\) may not decide gate"):
        phases.record_gate_decision(
            uow, "DENY", to_phase="pilot", outcome="go", rationale="", actor=person("x", role)
        )
    assert phases.gate_history(uow, "DENY", actor=ACTOR) == []
    assert products.resolve_product(uow, "DENY", actor=ACTOR).phase is Phase.PROTOTYPE
