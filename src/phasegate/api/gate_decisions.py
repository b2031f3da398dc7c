"""Gate reviews: how a gate decision is prepared and taken (open, sign off, waive, decide).

A review freezes the gate's evaluation when it is opened; each required role signs it off; a
failed criterion may be waived with a reason; the decision, once the sign-offs are complete, is
recorded (listed by ``GET /products/{ref}/gate-decisions``) and moves the product on a go or a
conditional go. The acting user is the token's.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import CREATE_UNDER_ERRORS, READ_ERRORS, error_responses
from phasegate.api.resources import IdPath, RefPath
from phasegate.api.types import StorableText
from phasegate.domain.enums import GateOutcome, Phase
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services.gates import decisions

router = APIRouter(tags=["Gate decisions"], route_class=GuardedRoute)

ACT_ERRORS = error_responses(401, 403, 404, 409, 413, 415, 422, 503)
Text = Annotated[str, Field(max_length=decisions.MAX_TEXT), StorableText()]
ShortText = Annotated[str, Field(min_length=1, max_length=300), StorableText(not_blank=True)]


class GateSignoffIn(BaseModel):
    """A sign-off for the token's user's role: a rejection needs a comment."""

    model_config = {"extra": "forbid"}
    approve: bool
    comment: Text = ""


class GateWaiverIn(BaseModel):
    model_config = {"extra": "forbid"}
    criterion_id: Annotated[str, Field(min_length=1, max_length=120), StorableText()]
    reason: Text = Field(description="Why the criterion may stand aside; required.")


class GateActionItemIn(BaseModel):
    model_config = {"extra": "forbid"}
    title: ShortText
    owner: Annotated[str, Field(min_length=1, max_length=120), StorableText(not_blank=True)]
    due_on: dt.date


class GateDecisionIn(BaseModel):
    """The decision; a conditional go names its conditions as action items."""

    model_config = {"extra": "forbid"}
    outcome: GateOutcome
    rationale: Text = ""
    actions: list[GateActionItemIn] = Field(default_factory=list, max_length=50)


class GateActionDoneIn(BaseModel):
    model_config = {"extra": "forbid"}
    done: bool


class GateActionItemOut(BaseModel):
    id: int
    review_id: int
    title: str
    owner: str
    due_on: dt.date
    done: bool
    version: int


class GateReviewOut(BaseModel):
    """A gate review: the frozen evaluation (``criteria`` with its waivers applied,
    ``frozen_suggestion`` as opened, ``suggestion`` with the waivers), the data's ``extent``,
    the sign-offs, and the decision once taken. ``then_and_now`` (on GET) sets each frozen
    answer beside the answer of a fresh evaluation."""

    id: int
    product: str
    from_: Phase = Field(alias="from")
    to: Phase
    status: str = Field(description="open, then decided")
    plan: dict[str, str]
    frozen_suggestion: GateOutcome
    suggestion: GateOutcome
    criteria: list[dict[str, Any]]
    extent: dict[str, Any]
    opened_by: str
    opened_at: dt.datetime
    required_roles: list[str]
    missing_roles: list[str]
    signoffs: list[dict[str, Any]]
    waivers: list[dict[str, Any]]
    decision: dict[str, Any] | None
    action_items: list[GateActionItemOut]
    then_and_now: list[dict[str, Any]] | None
    version: int

    model_config = {"populate_by_name": True}


def _out(view: decisions.ReviewView) -> dict[str, Any]:
    return view.as_dict()


GatePath = Annotated[Phase, Path(description="The gate: the phase the product would move into.")]


@router.post(
    "/products/{ref}/gates/{to}/reviews",
    status_code=201,
    response_model=GateReviewOut,
    response_model_by_alias=True,
    summary="Open a gate review",
    description="Evaluate the product's next gate now and open its review with the evaluation "
    "frozen (criteria, plan version, suggestion, the data's extent). 409 while a review of the "
    "gate is open; `gate_blocked` for any gate but the next.",
    operation_id="open_gate_review",
    responses=CREATE_UNDER_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.DECIDE_GATE, Kind.GATE_DECISION)},
)
def open_gate_review(ref: RefPath, to: GatePath, uow: Uow, actor: Acting) -> dict[str, Any]:
    return _out(decisions.open_decision(uow, ref, to, actor=actor))


@router.get(
    "/gate-reviews/{id}",
    response_model=GateReviewOut,
    response_model_by_alias=True,
    summary="Show a gate review",
    description="The frozen evaluation with its waivers and sign-offs, the decision, and "
    "`then_and_now`: every criterion then (frozen) beside now (evaluated afresh; null once the "
    "product has passed the gate, when there is no gate to evaluate).",
    operation_id="get_gate_review",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.GATE_DECISION)},
)
def get_gate_review(id: IdPath, uow: Uow, actor: Acting) -> dict[str, Any]:
    return _out(decisions.show_then_and_now(uow, id, actor=actor))


@router.post(
    "/gate-reviews/{id}/signoffs",
    status_code=201,
    response_model=GateReviewOut,
    response_model_by_alias=True,
    summary="Sign a gate review off",
    description="Approve or reject for the token's user's role (engineer, quality, operations, "
    "product), once per role; a rejection needs a comment.",
    operation_id="sign_gate_review",
    responses=ACT_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.SIGN_OFF, Kind.GATE_DECISION)},
)
def sign_gate_review(id: IdPath, body: GateSignoffIn, uow: Uow, actor: Acting) -> dict[str, Any]:
    view = decisions.sign(uow, id, approve=body.approve, comment=body.comment, actor=actor)
    return _out(view)


@router.post(
    "/gate-reviews/{id}/waivers",
    status_code=201,
    response_model=GateReviewOut,
    response_model_by_alias=True,
    summary="Waive a criterion of a gate review",
    description="A failed or unproven criterion stands aside with a written reason; the "
    "suggestion is worked out again from the frozen answers.",
    operation_id="waive_gate_criterion",
    responses=ACT_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.DECIDE_GATE, Kind.GATE_DECISION)},
)
def waive_gate_criterion(id: IdPath, body: GateWaiverIn, uow: Uow, actor: Acting) -> dict[str, Any]:
    view = decisions.waive(uow, id, body.criterion_id, reason=body.reason, actor=actor)
    return _out(view)


@router.post(
    "/gate-reviews/{id}/decision",
    status_code=201,
    response_model=GateReviewOut,
    response_model_by_alias=True,
    summary="Decide a gate review",
    description="Record the gate decision once every required role approved (409 otherwise, "
    "and for a review already decided). `go` and `conditional` move the product; they are "
    "refused with `gate_blocked` while the suggestion with the waivers is a no go. A "
    "`conditional` needs `actions`, each with an owner and a due date.",
    operation_id="decide_gate_review",
    responses=ACT_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.DECIDE_GATE, Kind.GATE_DECISION)},
)
def decide_gate_review(id: IdPath, body: GateDecisionIn, uow: Uow, actor: Acting) -> dict[str, Any]:
    actions = [decisions.ActionItem(a.title, a.owner, a.due_on) for a in body.actions]
    view = decisions.decide(
        uow, id, outcome=body.outcome, rationale=body.rationale, actions=actions, actor=actor
    )
    return _out(view)


@router.get(
    "/products/{ref}/gate-action-items",
    response_model=list[GateActionItemOut],
    summary="List a product's gate action items",
    description="The conditions of the product's conditional go decisions, open ones first.",
    operation_id="list_gate_action_items",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.GATE_DECISION)},
)
def list_gate_action_items(ref: RefPath, uow: Uow, actor: Acting) -> list[dict[str, Any]]:
    return [a.as_dict() for a in decisions.action_items_of(uow, ref, actor=actor)]


@router.patch(
    "/gate-action-items/{id}",
    response_model=GateActionItemOut,
    summary="Mark a gate action item done",
    description="Set `done` of a conditional go's action item.",
    operation_id="update_gate_action_item",
    responses=ACT_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.DECIDE_GATE, Kind.GATE_DECISION)},
)
def update_gate_action_item(
    id: IdPath, body: GateActionDoneIn, uow: Uow, actor: Acting
) -> dict[str, Any]:
    return decisions.set_action_done(uow, id, done=body.done, actor=actor).as_dict()
