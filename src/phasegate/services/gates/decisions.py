"""Gate decisions by review: open from an evaluation, sign off by role, waive, decide.

A product changes phase only through a gate decision taken this way:

1. ``open_decision`` opens a review of the product's next gate from an evaluation and freezes
   it: every criterion's answer, value, threshold and evidence, the plan's name and version,
   the suggestion, and the extent of the data it was computed from. Later data does not change
   the review; ``then_and_now`` sets the frozen answers beside a fresh evaluation.
2. ``sign`` records one sign-off per required role (engineering, quality, operations, product):
   approve or reject, with a comment. The signing role is the signing user's role.
3. ``waive`` lets a failed or unproven criterion stand aside with a written reason; the
   suggestion is worked out again from the frozen answers with the waivers.
4. ``decide`` takes the decision once every required role has approved: a go is refused while
   the suggestion (with waivers) is a no-go, a conditional go names its conditions as action
   items with an owner and a due date. It records the ``GateDecision`` through
   ``services.phases.record_decision``, which moves the product on a go or a conditional go.

Every step is audited. Who may do what: reading needs ``read`` of gate decisions, signing
``sign_off``, waiving and deciding ``decide_gate`` (the policy table in ``domain/policy.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from phasegate.domain.enums import AuditAction, GateOutcome, Phase
from phasegate.domain.errors import Conflict, FieldError, GateBlocked, InvalidInput, invalid
from phasegate.domain.phases import check_gate_sequence, lets_product_in
from phasegate.domain.policy import Action, Kind, Principal, Role
from phasegate.gates import CriterionResult, CriterionStatus, GateEvaluation, suggest
from phasegate.services import audit, phases
from phasegate.services.access import authorize
from phasegate.services.paging import MAX_ID, parse_enum
from phasegate.services.products import resolve_product
from phasegate.store.models import (
    Build,
    BuildCharacteristicStat,
    GateActionItem,
    GateDecision,
    GateReview,
    GateSignoff,
    GateWaiver,
    Product,
    StationPass,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork

__all__ = [
    "REQUIRED_ROLES",
    "ActionItem",
    "ActionItemRow",
    "Comparison",
    "Evaluator",
    "ReviewView",
    "action_items_of",
    "decide",
    "open_decision",
    "set_action_done",
    "show",
    "show_then_and_now",
    "sign",
    "then_and_now",
    "waive",
    "waived_criteria",
]

REQUIRED_ROLES: tuple[Role, ...] = (Role.ENGINEER, Role.QUALITY, Role.OPERATIONS, Role.PRODUCT)
"""The roles that sign off every gate, in the order the pages show them."""

OPEN = "open"
DECIDED = "decided"
MAX_TEXT = 4000

Evaluator = Callable[[UnitOfWork, str, Phase, Principal], GateEvaluation]
"""Evaluates a product's gate now: (uow, product key, the gate's phase, actor)."""


def current_evaluation(
    uow: UnitOfWork, product: str, to: Phase, actor: Principal
) -> GateEvaluation:
    """The gate evaluated on the product's evidence in the database now."""
    from phasegate.services.gates.evaluation import evaluate_gate

    evaluation: GateEvaluation = evaluate_gate(uow, product, to, actor=actor)
    return evaluation


def evaluation_now(uow: UnitOfWork, product: str, to: Phase, actor: Principal) -> GateEvaluation:
    """The gate's plan judged on the product's evidence now, whatever phase the product is in
    (after a go it has passed the gate, and the decision page still compares then with now)."""
    from phasegate.gates import evaluate
    from phasegate.services.gates.evaluation import plan_for
    from phasegate.services.gates.evidence import gather_evidence

    plan = plan_for(uow, product, to, actor=actor)
    return evaluate(plan, gather_evidence(uow, product, to, actor=actor))


# -- the frozen criteria with waivers: pure --------------------------------------------------


def _result(frozen: Mapping[str, Any]) -> CriterionResult:
    return CriterionResult(
        id=frozen["id"],
        title=frozen["title"],
        metric=frozen.get("metric", ""),
        status=CriterionStatus(frozen["status"]),
        blocking=bool(frozen["blocking"]),
        value=frozen["value"],
        comparison=frozen.get("comparison", ""),
        threshold=frozen["threshold"],
        confidence=frozen["confidence"],
        evidence=frozen["evidence"],
    )


_WAIVABLE = (CriterionStatus.FAIL.value, CriterionStatus.INSUFFICIENT.value)


def waived_criteria(
    criteria: Sequence[Mapping[str, Any]], waivers: Iterable[tuple[str, str, Role]]
) -> tuple[list[dict[str, Any]], GateOutcome]:
    """The frozen criteria with ``waivers`` (criterion id, reason, role) applied, and the
    suggestion they give by the engine's rule (``phasegate.gates.suggest``).

    As in the engine, a waiver turns a ``fail`` or an ``insufficient_evidence`` into
    ``waived`` and records the reason, the role and the answer it replaced in
    ``evidence.waiver``; a waiver of a criterion that passed changes nothing.
    """
    by_id = {cid: (reason, role) for cid, reason, role in waivers}
    out: list[dict[str, Any]] = []
    for frozen in criteria:
        item = dict(frozen)
        waiver = by_id.get(item["id"])
        if waiver is not None and item["status"] in _WAIVABLE:
            reason, role = waiver
            item["evidence"] = {
                **item["evidence"],
                "waiver": {"reason": reason, "by": role.value, "status": item["status"]},
            }
            item["status"] = CriterionStatus.WAIVED.value
        out.append(item)
    return out, suggest(_result(c) for c in out)


# -- read models -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionItem:
    """A condition of a conditional go, as given when deciding."""

    title: str
    owner: str
    due_on: dt.date


@dataclass(frozen=True, slots=True)
class ActionItemRow:
    id: int
    review_id: int
    title: str
    owner: str
    due_on: dt.date
    done: bool
    version: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "review_id": self.review_id,
            "title": self.title,
            "owner": self.owner,
            "due_on": self.due_on.isoformat(),
            "done": self.done,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class SignoffRow:
    role: Role
    signed_by: str
    approve: bool
    comment: str
    signed_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "role": self.role.value,
            "signed_by": self.signed_by,
            "approve": self.approve,
            "comment": self.comment,
            "signed_at": self.signed_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class WaiverRow:
    criterion_id: str
    reason: str
    waived_by: str
    role: Role
    waived_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "criterion_id": self.criterion_id,
            "reason": self.reason,
            "waived_by": self.waived_by,
            "role": self.role.value,
            "waived_at": self.waived_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """One criterion then (frozen, with the review's waivers) and now (a fresh evaluation)."""

    id: str
    title: str
    then_status: str | None
    then_value: float | None
    now_status: str | None
    now_value: float | None

    @property
    def changed(self) -> bool:
        return (self.then_status, self.then_value) != (self.now_status, self.now_value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "then": {"status": self.then_status, "value": self.then_value},
            "now": {"status": self.now_status, "value": self.now_value},
            "changed": self.changed,
        }


@dataclass(frozen=True, slots=True)
class ReviewView:
    """A gate review as it stands: the frozen evaluation with its waivers, the sign-offs, and
    the decision with its action items once it is decided."""

    id: int
    product: str
    from_phase: Phase
    to_phase: Phase
    status: str
    plan_name: str
    plan_version: str
    frozen_suggestion: GateOutcome
    suggestion: GateOutcome
    criteria: tuple[dict[str, Any], ...]
    extent: dict[str, Any]
    opened_by: str
    opened_at: dt.datetime
    signoffs: tuple[SignoffRow, ...]
    waivers: tuple[WaiverRow, ...]
    version: int
    decision: dict[str, Any] | None = None
    action_items: tuple[ActionItemRow, ...] = ()
    comparison: tuple[Comparison, ...] | None = field(default=None)

    @property
    def missing_roles(self) -> tuple[Role, ...]:
        """Required roles that have not signed off yet."""
        signed = {s.role for s in self.signoffs}
        return tuple(r for r in REQUIRED_ROLES if r not in signed)

    @property
    def signoffs_complete(self) -> bool:
        """Every required role signed off, and every one approved."""
        return not self.missing_roles and all(s.approve for s in self.signoffs)

    @property
    def waivable(self) -> tuple[str, ...]:
        """Ids of the criteria a waiver would change."""
        return tuple(c["id"] for c in self.criteria if c["status"] in _WAIVABLE)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "product": self.product,
            "from": self.from_phase.value,
            "to": self.to_phase.value,
            "status": self.status,
            "plan": {"name": self.plan_name, "version": self.plan_version},
            "frozen_suggestion": self.frozen_suggestion.value,
            "suggestion": self.suggestion.value,
            "criteria": list(self.criteria),
            "extent": self.extent,
            "opened_by": self.opened_by,
            "opened_at": self.opened_at.isoformat(),
            "required_roles": [r.value for r in REQUIRED_ROLES],
            "missing_roles": [r.value for r in self.missing_roles],
            "signoffs": [s.as_dict() for s in self.signoffs],
            "waivers": [w.as_dict() for w in self.waivers],
            "decision": self.decision,
            "action_items": [a.as_dict() for a in self.action_items],
            "then_and_now": None
            if self.comparison is None
            else [c.as_dict() for c in self.comparison],
            "version": self.version,
        }


# -- the data's extent -------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite keeps no offset; every stored time is UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def data_extent(uow: UnitOfWork, product_id: int) -> dict[str, Any]:
    """How much data the product had, and how recent, when an evaluation was frozen."""
    s = uow.session
    units = s.scalar(select(func.count()).select_from(Unit).where(Unit.product_id == product_id))
    passes, last_pass = s.execute(
        select(func.count(StationPass.id), func.max(StationPass.started_at))
        .join(Unit, Unit.id == StationPass.unit_id)
        .where(Unit.product_id == product_id)
    ).one()
    runs, last_run = s.execute(
        select(func.count(TestRun.id), func.max(TestRun.started_at))
        .join(Unit, Unit.id == TestRun.unit_id)
        .where(Unit.product_id == product_id)
    ).one()
    measurements = s.scalar(
        select(func.coalesce(func.sum(BuildCharacteristicStat.count), 0))
        .join(Build, Build.id == BuildCharacteristicStat.build_id)
        .where(Build.product_id == product_id)
    )
    return {
        "units": int(units or 0),
        "station_passes": int(passes or 0),
        "last_station_pass_at": _iso(last_pass),
        "test_runs": int(runs or 0),
        "last_test_run_at": _iso(last_run),
        "measurements": int(measurements or 0),
    }


# -- the steps -------------------------------------------------------------------------------


def _frozen_criteria(evaluation: GateEvaluation) -> list[dict[str, Any]]:
    """The evaluation's criteria in the JSON contract, with each one's metric and comparison,
    so the suggestion can be worked out again from them alone."""
    return [
        {**c.as_dict(), "metric": c.metric, "comparison": c.comparison} for c in evaluation.criteria
    ]


def open_decision(
    uow: UnitOfWork,
    product: str | int,
    to: Phase | str,
    *,
    actor: Principal,
    evaluation: GateEvaluation | None = None,
    evaluator: Evaluator = current_evaluation,
    at: dt.datetime | None = None,
) -> ReviewView:
    """Open the review of ``product``'s gate into ``to``, freezing ``evaluation`` (by default
    the gate evaluated now by ``evaluator``) with the data's extent.

    Needs ``decide_gate``. The gate must be the product's next one (``GateBlocked``); a review
    of that gate already open is a ``Conflict`` naming it.
    """
    authorize(actor, Action.DECIDE_GATE, Kind.GATE_DECISION)
    target = parse_enum(Phase, "to", to)
    item = resolve_product(uow, product, actor=actor)
    check_gate_sequence(item.key, item.phase, target)  # before evaluating a gate not there
    if evaluation is None:
        evaluation = evaluator(uow, item.key, target, actor)
    if evaluation.to_phase is not target or evaluation.product != item.key:
        raise invalid(
            "evaluation",
            f"is of {evaluation.product} into {evaluation.to_phase.value}, "
            f"not of {item.key} into {target.value}",
        )
    with uow.write():
        item = uow.get(Product, item.id, lock=True)
        check_gate_sequence(item.key, item.phase, target)
        _check_none_open(uow, item, target)
        frozen = evaluation.as_dict()
        frozen["criteria"] = _frozen_criteria(evaluation)
        frozen["extent"] = data_extent(uow, item.id)
        refused = Conflict(
            f"a review of the gate into {target.value} of product {item.key} is already open"
        )
        review = GateReview(
            product_id=item.id,
            from_phase=item.phase,
            to_phase=target,
            status=OPEN,
            plan_name=evaluation.plan_name,
            plan_version=evaluation.plan_version,
            suggestion=evaluation.suggestion,
            evaluation=frozen,
            opened_by=actor.name,
            opened_at=at or dt.datetime.now(dt.UTC),
        )
        uow.session.add(review)
        try:
            uow.session.flush()
        except IntegrityError as error:  # a concurrent review of this gate was opened first
            raise refused from error
        _audit(uow, review, actor.name, f"opened, suggestion {evaluation.suggestion.label}")
        uow.commit()
        return _view(uow, review)


def _check_none_open(uow: UnitOfWork, item: Product, target: Phase) -> None:
    earlier = uow.session.scalar(
        select(GateReview.id).where(
            GateReview.product_id == item.id,
            GateReview.to_phase == target,
            GateReview.status == OPEN,
        )
    )
    if earlier is not None:
        raise Conflict(
            f"review {earlier} of the gate into {target.value} of product {item.key} is "
            "still open: decide it first"
        )


def _text(name: str, value: str, *, required: bool) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{name}: is required", [FieldError(name, "is required")])
    if len(text) > MAX_TEXT:
        raise invalid(name, f"at most {MAX_TEXT} characters, got {len(text)}")
    return text


def _open_review(uow: UnitOfWork, review_id: int, actor: Principal) -> GateReview:
    """The review under the write lock, visible to ``actor`` and still open (``Conflict``)."""
    review = _get(uow, review_id, actor, lock=True)
    if review.status != OPEN:
        raise Conflict(f"gate review {review.id} is already decided")
    return review


def sign(
    uow: UnitOfWork,
    review_id: int,
    *,
    approve: bool,
    comment: str = "",
    actor: Principal,
    at: dt.datetime | None = None,
) -> ReviewView:
    """Sign the review off for ``actor``'s role: approve or reject, with a comment.

    Needs ``sign_off``; the role must be one of ``REQUIRED_ROLES`` (``InvalidInput``), and
    signs once (a second sign-off of the role is a ``Conflict`` naming who signed). A
    rejection needs a comment saying why.
    """
    authorize(actor, Action.SIGN_OFF, Kind.GATE_DECISION)
    if actor.role not in REQUIRED_ROLES:
        raise invalid(
            "role",
            f"{actor.role.value} does not sign gates off; the sign-offs are by "
            + ", ".join(r.value for r in REQUIRED_ROLES),
        )
    text = _text("comment", comment, required=not approve)
    with uow.write():
        review = _open_review(uow, review_id, actor)
        earlier = uow.session.scalar(
            select(GateSignoff).where(
                GateSignoff.review_id == review.id, GateSignoff.role == actor.role
            )
        )
        if earlier is not None:
            raise Conflict(
                f"{actor.role.value} already signed gate review {review.id} off "
                f"({'approved' if earlier.approve else 'rejected'} by {earlier.signed_by})"
            )
        refused = Conflict(f"{actor.role.value} already signed gate review {review.id} off")
        signoff = GateSignoff(
            review_id=review.id,
            role=actor.role,
            signed_by=actor.name,
            approve=approve,
            comment=text,
            signed_at=at or dt.datetime.now(dt.UTC),
        )
        uow.session.add(signoff)
        try:
            uow.session.flush()
        except IntegrityError as error:  # a concurrent sign-off of the role came first
            raise refused from error
        verdict = "approved" if approve else "rejected"
        _audit(uow, review, actor.name, f"{verdict} for {actor.role.value}: {text}")
        uow.commit()
        return _view(uow, review)


def waive(
    uow: UnitOfWork,
    review_id: int,
    criterion_id: str,
    *,
    reason: str,
    actor: Principal,
    at: dt.datetime | None = None,
) -> ReviewView:
    """Waive a failed or unproven criterion of an open review with a written reason.

    Needs ``decide_gate``. Refused (``InvalidInput``, naming the field): no reason, a criterion
    the frozen plan does not have, one that passed; a second waiver of one criterion is a
    ``Conflict``.
    """
    authorize(actor, Action.DECIDE_GATE, Kind.GATE_DECISION)
    text = _text("reason", reason, required=True)
    with uow.write():
        review = _open_review(uow, review_id, actor)
        criteria = {c["id"]: c for c in review.evaluation["criteria"]}
        criterion = criteria.get(criterion_id)
        if criterion is None:
            raise invalid(
                "criterion_id",
                f"plan {review.plan_name} has no criterion {criterion_id!r}; "
                f"its criteria: {', '.join(criteria)}",
            )
        if criterion["status"] not in _WAIVABLE:
            raise invalid(
                "criterion_id", f"{criterion_id!r} answered {criterion['status']}: nothing to waive"
            )
        refused = Conflict(f"{criterion_id!r} of gate review {review.id} is already waived")
        if uow.session.scalar(
            select(GateWaiver.id).where(
                GateWaiver.review_id == review.id, GateWaiver.criterion_id == criterion_id
            )
        ):
            raise refused
        waiver = GateWaiver(
            review_id=review.id,
            criterion_id=criterion_id,
            reason=text,
            waived_by=actor.name,
            role=actor.role,
            waived_at=at or dt.datetime.now(dt.UTC),
        )
        uow.session.add(waiver)
        try:
            uow.session.flush()
        except IntegrityError as error:  # a concurrent waiver of it came first
            raise refused from error
        _audit(uow, review, actor.name, f"waived {criterion_id}: {text}")
        uow.commit()
        return _view(uow, review)


def _check_can_decide(view: ReviewView, outcome: GateOutcome) -> None:
    if view.missing_roles:
        raise Conflict(
            f"gate review {view.id} cannot be decided yet: sign-off missing from "
            + ", ".join(r.value for r in view.missing_roles)
        )
    rejected = [s for s in view.signoffs if not s.approve]
    if rejected and lets_product_in(outcome):
        raise Conflict(
            f"gate review {view.id} cannot be a {outcome.label.lower()}: rejected by "
            + "; ".join(f"{s.role.value} ({s.signed_by}): {s.comment}" for s in rejected)
        )
    if outcome is GateOutcome.GO and view.suggestion is GateOutcome.NO_GO:
        unmet = [
            c["id"]
            for c in view.criteria
            if c["blocking"] and c["status"] not in ("pass", "waived")
        ]
        raise GateBlocked(
            f"gate review {view.id} suggests no go: blocking criteria not met and not waived: "
            + ", ".join(unmet)
        )
    if outcome is GateOutcome.CONDITIONAL and view.suggestion is GateOutcome.NO_GO:
        raise GateBlocked(
            f"gate review {view.id} suggests no go: waive or meet its blocking criteria "
            "before a conditional go"
        )


def _check_actions(outcome: GateOutcome, actions: Sequence[ActionItem]) -> None:
    if outcome is GateOutcome.CONDITIONAL and not actions:
        raise InvalidInput(
            "actions: a conditional go needs at least one action item with an owner and a due date",
            [FieldError("actions", "is required for a conditional go")],
        )
    if outcome is not GateOutcome.CONDITIONAL and actions:
        raise invalid("actions", "only a conditional go has action items")
    for i, action in enumerate(actions):
        _text(f"actions[{i}].title", action.title, required=True)
        _text(f"actions[{i}].owner", action.owner, required=True)


def decide(
    uow: UnitOfWork,
    review_id: int,
    *,
    outcome: GateOutcome | str,
    rationale: str,
    actions: Sequence[ActionItem] = (),
    actor: Principal,
    at: dt.datetime | None = None,
) -> ReviewView:
    """Decide the review: record the ``GateDecision`` and, on a go or a conditional go, move
    the product (``services.phases.record_decision``).

    Needs ``decide_gate``. ``Conflict`` while a required role has not signed off, for a go or
    conditional go that a role rejected, and for a review already decided (of two concurrent
    deciders one wins). ``GateBlocked`` for a go or a conditional go while the suggestion with
    the waivers is a no-go. A conditional go needs action items (``actions``).
    """
    authorize(actor, Action.DECIDE_GATE, Kind.GATE_DECISION)
    verdict = parse_enum(GateOutcome, "outcome", outcome)
    text = _text("rationale", rationale, required=False)
    _check_actions(verdict, actions)
    with uow.write():
        review = _open_review(uow, review_id, actor)
        _check_can_decide(_view(uow, review), verdict)
        item = uow.get(Product, review.product_id, lock=True)
        decision = phases.record_decision(
            uow,
            item,
            to_phase=review.to_phase,
            outcome=verdict,
            rationale=text,
            decided_by=actor.name,
            decided_at=at,
        )
        review.status = DECIDED
        review.decision_id = decision.id
        for action in actions:
            uow.session.add(
                GateActionItem(
                    review_id=review.id,
                    product_id=item.id,
                    title=action.title.strip(),
                    owner=action.owner.strip(),
                    due_on=action.due_on,
                    done=False,
                )
            )
        uow.session.flush()
        _audit(uow, review, actor.name, f"decided: {verdict.label}")
        uow.commit()
        return _view(uow, review)


def set_action_done(
    uow: UnitOfWork, item_id: int, *, done: bool, actor: Principal
) -> ActionItemRow:
    """Mark an action item of a conditional go done (or not done again). Needs
    ``decide_gate``."""
    authorize(actor, Action.DECIDE_GATE, Kind.GATE_DECISION)
    with uow.write():
        if item_id > MAX_ID:
            raise invalid("id", f"no action item {item_id}")
        item = uow.get(GateActionItem, item_id, label="action item", lock=True)
        before = audit.snapshot(item)
        item.done = done
        uow.session.flush()
        audit.record(
            uow,
            actor=actor.name,
            action=AuditAction.UPDATE,
            obj=item,
            before=before,
            after=audit.snapshot(item),
            summary=f"action item {item.title!r} {'done' if done else 'not done'}",
        )
        uow.commit()
        return _action_row(item)


# -- reading ---------------------------------------------------------------------------------


def _get(uow: UnitOfWork, review_id: int, actor: Principal, *, lock: bool = False) -> GateReview:
    authorize(actor, Action.READ, Kind.GATE_DECISION)
    if review_id > MAX_ID:
        raise invalid("id", f"gate review {review_id} does not exist")
    return uow.get(GateReview, review_id, label="gate review", lock=lock)


def show(
    uow: UnitOfWork,
    review_id: int,
    *,
    actor: Principal,
    evaluator: Evaluator | None = None,
) -> ReviewView:
    """The review as it stands; with ``evaluator``, also its criteria then and now."""
    with uow:
        review = _get(uow, review_id, actor)
        view = _view(uow, review)
    if evaluator is None:
        return view
    return then_and_now(uow, view, evaluator(uow, view.product, view.to_phase, actor))


def show_then_and_now(uow: UnitOfWork, review_id: int, *, actor: Principal) -> ReviewView:
    """The review with its criteria then (frozen) and now (``evaluation_now``)."""
    return show(uow, review_id, actor=actor, evaluator=evaluation_now)


def then_and_now(uow: UnitOfWork, view: ReviewView, now: GateEvaluation) -> ReviewView:
    """``view`` with each frozen criterion set beside the same criterion of ``now``; criteria
    only one side has appear with the other side empty."""
    del uow  # the comparison needs nothing more from the database
    fresh = {c.id: c for c in now.criteria}
    rows = [
        Comparison(
            id=c["id"],
            title=c["title"],
            then_status=c["status"],
            then_value=c["value"],
            now_status=fresh[c["id"]].status.value if c["id"] in fresh else None,
            now_value=fresh[c["id"]].value if c["id"] in fresh else None,
        )
        for c in view.criteria
    ]
    frozen_ids = {c["id"] for c in view.criteria}
    rows += [
        Comparison(c.id, c.title, None, None, c.status.value, c.value)
        for c in now.criteria
        if c.id not in frozen_ids
    ]
    return replace(view, comparison=tuple(rows))


def reviews_of(uow: UnitOfWork, product: str | int, *, actor: Principal) -> list[ReviewView]:
    """A product's gate reviews, newest first."""
    authorize(actor, Action.READ, Kind.GATE_DECISION)
    with uow:
        item = resolve_product(uow, product, actor=actor)
        reviews = uow.session.scalars(
            select(GateReview)
            .where(GateReview.product_id == item.id)
            .order_by(GateReview.opened_at.desc(), GateReview.id.desc())
        )
        return [_view(uow, r) for r in reviews]


def action_items_of(
    uow: UnitOfWork, product: str | int, *, actor: Principal
) -> list[ActionItemRow]:
    """The action items of a product's conditional go decisions, open ones first by due date."""
    authorize(actor, Action.READ, Kind.GATE_DECISION)
    with uow:
        item = resolve_product(uow, product, actor=actor)
        rows = uow.session.scalars(
            select(GateActionItem)
            .where(GateActionItem.product_id == item.id)
            .order_by(GateActionItem.done, GateActionItem.due_on, GateActionItem.id)
        )
        return [_action_row(r) for r in rows]


def _action_row(item: GateActionItem) -> ActionItemRow:
    return ActionItemRow(
        item.id, item.review_id, item.title, item.owner, item.due_on, item.done, item.version
    )


def _view(uow: UnitOfWork, review: GateReview) -> ReviewView:
    s = uow.session
    product_key = s.scalar(select(Product.key).where(Product.id == review.product_id))
    signoffs = tuple(
        SignoffRow(x.role, x.signed_by, x.approve, x.comment, x.signed_at)
        for x in s.scalars(
            select(GateSignoff).where(GateSignoff.review_id == review.id).order_by(GateSignoff.id)
        )
    )
    waivers = tuple(
        WaiverRow(w.criterion_id, w.reason, w.waived_by, w.role, w.waived_at)
        for w in s.scalars(
            select(GateWaiver).where(GateWaiver.review_id == review.id).order_by(GateWaiver.id)
        )
    )
    criteria, suggestion = waived_criteria(
        review.evaluation["criteria"], ((w.criterion_id, w.reason, w.role) for w in waivers)
    )
    decision = None
    if review.decision_id is not None:
        d = s.get(GateDecision, review.decision_id)
        if d is not None:
            decision = {
                "id": d.id,
                "outcome": d.outcome.value,
                "rationale": d.rationale,
                "decided_by": d.decided_by,
                "decided_at": _iso(d.decided_at),
            }
    actions = tuple(
        _action_row(a)
        for a in s.scalars(
            select(GateActionItem)
            .where(GateActionItem.review_id == review.id)
            .order_by(GateActionItem.id)
        )
    )
    return ReviewView(
        id=review.id,
        product=product_key or "",
        from_phase=review.from_phase,
        to_phase=review.to_phase,
        status=review.status,
        plan_name=review.plan_name,
        plan_version=review.plan_version,
        frozen_suggestion=review.suggestion,
        suggestion=suggestion,
        criteria=tuple(criteria),
        extent=dict(review.evaluation.get("extent", {})),
        opened_by=review.opened_by,
        opened_at=review.opened_at,
        signoffs=signoffs,
        waivers=waivers,
        version=review.version,
        decision=decision,
        action_items=actions,
    )


def _audit(uow: UnitOfWork, review: GateReview, actor: str, what: str) -> None:
    audit.record(
        uow,
        actor=actor,
        action=AuditAction.DECISION,
        obj=review,
        before=None,
        after={"status": review.status, "to_phase": review.to_phase.value},
        summary=f"gate review {review.id} into {review.to_phase.value}: {what}",
    )
