"""Gate decisions by review: frozen evidence, sign-offs by role, waivers, the decision.

The evaluations are made by the pure engine from a small plan and hand-written evidence, so
these tests do not depend on how the services gather evidence from the database.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from phasegate.domain.enums import AuditAction, GateOutcome, Phase
from phasegate.domain.errors import Conflict, Forbidden, GateBlocked, InvalidInput
from phasegate.domain.policy import Principal, Role
from phasegate.gates import BomEvidence, Evidence, GateEvaluation, Waiver, evaluate, parse_plan
from phasegate.services import phases, products
from phasegate.services.gates import decisions
from phasegate.services.gates.decisions import REQUIRED_ROLES, ActionItem, waived_criteria
from phasegate.store.models import AuditEvent, GateActionItem
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_product, person

PLAN = parse_plan(
    """
name = "test-gate"
version = "7"
from = "prototype"
to = "pilot"

[[criteria]]
id = "partner-and-line"
metric = "pilot_partner_and_line"
comparison = "<="
threshold = 0
blocking = true
explanation = "A pilot partner and line are chosen."

[[criteria]]
id = "bom-cost"
metric = "bom_cost_vs_target"
comparison = "<="
threshold = 1.0
blocking = false
explanation = "The BOM is within its target cost."
"""
)
PM = person("Pat (product)", Role.PRODUCT)
SIGNERS = {role: person(f"{role.value} lead", role) for role in REQUIRED_ROLES}


def _evaluation(
    key: str, *, partner: str | None = "CM", bom: float | None = None
) -> GateEvaluation:
    """No partner: the blocking criterion fails (no go). No BOM cost: the advisory criterion
    lacks evidence (a conditional go); a BOM at 38 of a 40 target passes it (go)."""
    evidence = Evidence(
        product=key,
        phase=Phase.PROTOTYPE,
        pilot_partner=partner,
        pilot_line="Line 1",
        bom=None
        if bom is None
        else BomEvidence(revision="A", parts=10, uncosted=(), cost_per_unit=bom, target_cost=40.0),
    )
    return evaluate(PLAN, evidence)


def _open(uow: UnitOfWork, key: str, **kw: object) -> decisions.ReviewView:
    return decisions.open_decision(
        uow,
        key,
        "pilot",
        evaluation=_evaluation(key, **kw),
        actor=PM,  # type: ignore[arg-type]
    )


def _sign_all(uow: UnitOfWork, review_id: int, *, reject: Role | None = None) -> None:
    for role, who in SIGNERS.items():
        approve = role is not reject
        decisions.sign(
            uow, review_id, approve=approve, comment="" if approve else "not yet", actor=who
        )


def test_opening_freezes_the_evaluation_plan_and_extent(uow: UnitOfWork) -> None:
    make_product(uow, key="FRZ")
    view = _open(uow, "FRZ")
    assert view.status == "open" and view.from_phase is Phase.PROTOTYPE
    assert (view.plan_name, view.plan_version) == ("test-gate", "7")
    assert view.frozen_suggestion is view.suggestion is GateOutcome.CONDITIONAL
    assert [(c["id"], c["status"]) for c in view.criteria] == [
        ("partner-and-line", "pass"),
        ("bom-cost", "insufficient_evidence"),
    ]
    assert view.extent == {
        "units": 0,
        "station_passes": 0,
        "last_station_pass_at": None,
        "test_runs": 0,
        "last_test_run_at": None,
        "measurements": 0,
    }
    assert view.missing_roles == REQUIRED_ROLES


def test_later_data_does_not_change_the_frozen_record_and_then_and_now_compares(
    uow: UnitOfWork,
) -> None:
    make_product(uow, key="TAN")
    view = _open(uow, "TAN")
    now = _evaluation("TAN", partner=None, bom=38.0)  # the partner dropped out, the BOM costed
    compared = decisions.then_and_now(uow, decisions.show(uow, view.id, actor=ACTOR), now)
    assert [c["status"] for c in compared.criteria] == ["pass", "insufficient_evidence"]
    rows = {c.id: c for c in compared.comparison or ()}
    assert (rows["partner-and-line"].then_status, rows["partner-and-line"].now_status) == (
        "pass",
        "fail",
    )
    assert rows["partner-and-line"].then_value == 0 and rows["partner-and-line"].now_value == 1
    assert rows["bom-cost"].now_value == pytest.approx(38.0 / 40.0)
    assert all(r.changed for r in rows.values())
    # show() with an evaluator does the same comparison.
    shown = decisions.show(uow, view.id, actor=ACTOR, evaluator=lambda *_: now)
    assert shown.comparison == compared.comparison


def test_each_required_role_signs_once_and_other_roles_cannot(uow: UnitOfWork) -> None:
    make_product(uow, key="SGN")
    review = _open(uow, "SGN")
    view = decisions.sign(uow, review.id, approve=True, comment="ok", actor=SIGNERS[Role.QUALITY])
    assert [(s.role, s.signed_by, s.approve) for s in view.signoffs] == [
        (Role.QUALITY, "quality lead", True)
    ]
    with pytest.raises(Conflict, match=r"quality already signed gate review .* by quality lead"):
        decisions.sign(uow, review.id, approve=False, comment="x", actor=person("q2", Role.QUALITY))
    with pytest.raises(InvalidInput, match="role: admin does not sign gates off"):
        decisions.sign(uow, review.id, approve=True, actor=ACTOR)
    with pytest.raises(Forbidden, match="may not sign off"):
        decisions.sign(uow, review.id, approve=True, actor=person("v", Role.VIEWER))
    with pytest.raises(InvalidInput, match="comment: is required"):
        decisions.sign(uow, review.id, approve=False, comment=" ", actor=SIGNERS[Role.ENGINEER])


def test_a_decision_waits_for_every_sign_off_and_a_rejection_stops_a_go(uow: UnitOfWork) -> None:
    make_product(uow, key="WAIT")
    review = _open(uow, "WAIT", bom=38.0)
    assert review.suggestion is GateOutcome.GO
    decisions.sign(uow, review.id, approve=True, actor=SIGNERS[Role.ENGINEER])
    with pytest.raises(Conflict, match="sign-off missing from quality, operations, product"):
        decisions.decide(uow, review.id, outcome="go", rationale="", actor=PM)
    for role in (Role.QUALITY, Role.OPERATIONS):
        decisions.sign(uow, review.id, approve=True, actor=SIGNERS[role])
    decisions.sign(uow, review.id, approve=False, comment="launch slot moved", actor=PM)
    with pytest.raises(Conflict, match=r"rejected by product \(Pat \(product\)\): launch slot"):
        decisions.decide(uow, review.id, outcome="go", rationale="", actor=PM)
    # A no-go may still be decided: the rejection supports it.
    done = decisions.decide(uow, review.id, outcome="no_go", rationale="launch slot", actor=PM)
    assert done.status == "decided" and done.decision is not None
    assert done.decision["outcome"] == "no_go"
    assert products.resolve_product(uow, "WAIT", actor=ACTOR).phase is Phase.PROTOTYPE
    # The gate may be reviewed again after a no-go.
    assert _open(uow, "WAIT", bom=38.0).status == "open"


def test_go_moves_the_product_once_and_a_second_decider_gets_a_conflict(uow: UnitOfWork) -> None:
    make_product(uow, key="GO")
    review = _open(uow, "GO", bom=38.0)
    _sign_all(uow, review.id)
    view = decisions.decide(uow, review.id, outcome="go", rationale="all met", actor=PM)
    assert view.decision is not None and view.decision["decided_by"] == "Pat (product)"
    assert products.resolve_product(uow, "GO", actor=ACTOR).phase is Phase.PILOT
    with pytest.raises(Conflict, match=f"gate review {review.id} is already decided"):
        decisions.decide(uow, review.id, outcome="go", rationale="", actor=ACTOR)
    history = phases.gate_history(uow, "GO", actor=ACTOR)
    assert [(d.to_phase, d.outcome) for d in history] == [(Phase.PILOT, GateOutcome.GO)]
    with uow:
        summaries = list(
            uow.session.scalars(
                select(AuditEvent.summary)
                .where(AuditEvent.action == AuditAction.DECISION)
                .order_by(AuditEvent.id)
            )
        )
    assert summaries[0].endswith("opened, suggestion Go")
    assert sum("approved for" in s for s in summaries) == 4
    assert any("gate prototype -> pilot: Go, decided by Pat (product)" in s for s in summaries)
    assert summaries[-1].endswith("decided: Go")


def test_a_go_on_a_no_go_suggestion_needs_the_blocking_failure_waived(uow: UnitOfWork) -> None:
    make_product(uow, key="WVR")
    review = _open(uow, "WVR", partner=None, bom=38.0)
    assert review.suggestion is GateOutcome.NO_GO
    _sign_all(uow, review.id)
    with pytest.raises(GateBlocked, match="not met and not waived: partner-and-line"):
        decisions.decide(uow, review.id, outcome="go", rationale="", actor=PM)
    with pytest.raises(GateBlocked, match="suggests no go"):
        decisions.decide(
            uow,
            review.id,
            outcome="conditional",
            rationale="x",
            actions=[ActionItem("Pick a CM", "ops", dt.date(2026, 1, 1))],
            actor=PM,
        )
    with pytest.raises(Forbidden, match="may not decide gates"):
        decisions.waive(
            uow, review.id, "partner-and-line", reason="r", actor=SIGNERS[Role.ENGINEER]
        )
    with pytest.raises(InvalidInput, match="reason: is required"):
        decisions.waive(uow, review.id, "partner-and-line", reason="  ", actor=PM)
    with pytest.raises(InvalidInput, match="criterion_id: plan test-gate has no criterion 'nope'"):
        decisions.waive(uow, review.id, "nope", reason="r", actor=PM)
    with pytest.raises(InvalidInput, match="'bom-cost' answered pass: nothing to waive"):
        decisions.waive(uow, review.id, "bom-cost", reason="r", actor=PM)
    view = decisions.waive(uow, review.id, "partner-and-line", reason="CM signed Friday", actor=PM)
    assert view.frozen_suggestion is GateOutcome.NO_GO and view.suggestion is GateOutcome.GO
    assert view.criteria[0]["status"] == "waived"
    assert view.criteria[0]["evidence"]["waiver"] == {
        "reason": "CM signed Friday",
        "by": "product",
        "status": "fail",
    }
    with pytest.raises(Conflict, match="already waived"):
        decisions.waive(uow, review.id, "partner-and-line", reason="again", actor=ACTOR)
    decisions.decide(uow, review.id, outcome="go", rationale="waived", actor=PM)
    assert products.resolve_product(uow, "WVR", actor=ACTOR).phase is Phase.PILOT


def test_a_conditional_go_creates_action_items(uow: UnitOfWork) -> None:
    make_product(uow, key="CND")
    review = _open(uow, "CND")
    _sign_all(uow, review.id)
    with pytest.raises(InvalidInput, match="actions: a conditional go needs at least one"):
        decisions.decide(uow, review.id, outcome="conditional", rationale="cost", actor=PM)
    with pytest.raises(InvalidInput, match=r"actions\[0\].owner: is required"):
        decisions.decide(
            uow,
            review.id,
            outcome="conditional",
            rationale="cost",
            actions=[ActionItem("Cost the BOM", " ", dt.date(2026, 3, 1))],
            actor=PM,
        )
    with pytest.raises(InvalidInput, match="only a conditional go has action items"):
        decisions.decide(
            uow,
            review.id,
            outcome="go",
            rationale="",
            actions=[ActionItem("Cost the BOM", "Ana", dt.date(2026, 3, 1))],
            actor=PM,
        )
    view = decisions.decide(
        uow,
        review.id,
        outcome="conditional",
        rationale="BOM to be costed",
        actions=[ActionItem("Cost the BOM", "Ana", dt.date(2026, 3, 1))],
        actor=PM,
    )
    assert [(a.title, a.owner, a.due_on, a.done) for a in view.action_items] == [
        ("Cost the BOM", "Ana", dt.date(2026, 3, 1), False)
    ]
    assert products.resolve_product(uow, "CND", actor=ACTOR).phase is Phase.PILOT
    items = decisions.action_items_of(uow, "CND", actor=ACTOR)
    assert [i.title for i in items] == ["Cost the BOM"]
    with pytest.raises(Forbidden):
        decisions.set_action_done(uow, items[0].id, done=True, actor=SIGNERS[Role.QUALITY])
    done = decisions.set_action_done(uow, items[0].id, done=True, actor=PM)
    assert done.done is True
    with uow:
        assert uow.session.get(GateActionItem, items[0].id).done is True  # type: ignore[union-attr]


def test_one_open_review_per_gate_and_only_the_next_gate(uow: UnitOfWork) -> None:
    make_product(uow, key="ONE")
    review = _open(uow, "ONE")
    with pytest.raises(Conflict, match=rf"review {review.id} of the gate into pilot .* still open"):
        _open(uow, "ONE")
    with pytest.raises(GateBlocked, match="next gate is pilot, not production"):
        _open_production(uow)
    with pytest.raises(InvalidInput, match="evaluation: is of OTHER into pilot, not of ONE"):
        decisions.open_decision(uow, "ONE", "pilot", evaluation=_evaluation("OTHER"), actor=PM)
    with pytest.raises(Forbidden, match="may not decide gates"):
        decisions.open_decision(
            uow, "ONE", "pilot", evaluation=_evaluation("ONE"), actor=SIGNERS[Role.QUALITY]
        )
    with pytest.raises(Forbidden):
        decisions.show(uow, review.id, actor=Principal("cm", Role.PARTNER, partner_id=1))


def _open_production(uow: UnitOfWork) -> None:
    evaluation = _evaluation("ONE")
    production = GateEvaluation(
        product="ONE",
        from_phase=Phase.PILOT,
        to_phase=Phase.PRODUCTION,
        plan_name="p",
        plan_version="1",
        suggestion=GateOutcome.GO,
        criteria=evaluation.criteria,
    )
    decisions.open_decision(uow, "ONE", "production", evaluation=production, actor=PM)


def test_waived_criteria_follow_the_engine_rule() -> None:
    """The pure helper gives the suggestion the engine gives with the same waivers."""
    evidence = Evidence(product="X", phase=Phase.PROTOTYPE, pilot_line="L")
    frozen = [
        c.as_dict() | {"metric": c.metric, "comparison": c.comparison}
        for c in evaluate(PLAN, evidence).criteria
    ]
    for waivers in (
        [],
        [("partner-and-line", "r", Role.PRODUCT)],
        [("partner-and-line", "r", Role.PRODUCT), ("bom-cost", "s", Role.ADMIN)],
    ):
        expected = evaluate(PLAN, evidence, [Waiver(c, r, by) for c, r, by in waivers])
        criteria, suggestion = waived_criteria(frozen, waivers)
        assert suggestion is expected.suggestion
        assert [c["status"] for c in criteria] == [c.status.value for c in expected.criteria]
        assert [c["evidence"] for c in criteria] == [
            c.as_dict()["evidence"] for c in expected.criteria
        ]
