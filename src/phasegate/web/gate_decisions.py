"""Gate review pages: open a review, sign it off, waive, decide; the product page's section.

``/gate-reviews/{id}`` shows the frozen criteria beside the same criteria evaluated now, the
sign-offs by role, the waivers and the decision, with the forms the signed-in user's role may
use: the signing role is theirs, the deciding user is them. Each form posts to its own address
and comes back to the page (303); a refusal shows the page again with the reason.
``/products/{key}/gate-actions`` is the product page's section (HTMX): the product's reviews,
a button opening the next gate's review, and the action items of conditional go decisions.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from phasegate.domain.enums import GateOutcome
from phasegate.domain.errors import Conflict, GateBlocked, InvalidInput, invalid
from phasegate.domain.phases import next_phase
from phasegate.domain.policy import Action, Kind
from phasegate.domain.text import unstorable_reason
from phasegate.services.gates import decisions
from phasegate.services.paging import MAX_KEY
from phasegate.services.products import resolve_product
from phasegate.web.auth import actor
from phasegate.web.rendering import is_htmx, render
from phasegate.web.routes import PAGE_DEPENDENCIES, needs, page_uow

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

READ = needs(Action.READ, Kind.GATE_DECISION)
SIGN = needs(Action.SIGN_OFF, Kind.GATE_DECISION)
DECIDE = needs(Action.DECIDE_GATE, Kind.GATE_DECISION)
ProductKey = Annotated[str, Path(min_length=1, max_length=MAX_KEY)]
ReviewId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_FIELD = decisions.MAX_TEXT * 4  # the action items' lines together
REFUSED = (InvalidInput, Conflict, GateBlocked)


def _status(error: Exception) -> int:
    return 400 if isinstance(error, InvalidInput) else 409


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(name, "must be text, not a file")
    problem = unstorable_reason(value) or (
        f"is {len(value)} characters long; at most {MAX_FIELD}" if len(value) > MAX_FIELD else None
    )
    if problem is not None:
        raise invalid(name, problem)
    return value


def parse_actions(text: str) -> list[decisions.ActionItem]:
    """Action items from lines ``title; owner; YYYY-MM-DD``; blank lines are skipped."""
    items = []
    for n, line in enumerate((x for x in text.splitlines() if x.strip()), start=1):
        parts = [p.strip() for p in line.split(";")]
        if len(parts) != 3:
            raise invalid("actions", f"line {n}: write 'title; owner; YYYY-MM-DD'")
        try:
            due = dt.date.fromisoformat(parts[2])
        except ValueError:
            raise invalid("actions", f"line {n}: {parts[2]!r} is not a date YYYY-MM-DD") from None
        items.append(decisions.ActionItem(parts[0], parts[1], due))
    return items


def _page(request: Request, review_id: int, *, error: str = "", status_code: int = 200) -> Response:
    view = decisions.show_then_and_now(page_uow(request), review_id, actor=actor(request))
    me = actor(request)
    mine = next((s for s in view.signoffs if s.role is me.role), None)
    return render(
        request,
        "gate_decision.html",
        {
            "nav": "portfolio",
            "r": view,
            "error": error,
            "my_role": me.role,
            "my_signoff": mine,
            "may_sign": me.role in decisions.REQUIRED_ROLES and mine is None,
            "outcomes": list(GateOutcome),
        },
        status_code=status_code,
    )


@router.get("/gate-reviews/{id}", name="gate_review", openapi_extra=READ)
def review_page(request: Request, id: ReviewId) -> Response:
    return _page(request, id)


@router.post("/products/{key}/gates/reviews", name="open_gate_review", openapi_extra=DECIDE)
async def open_review(request: Request, key: ProductKey) -> Response:
    """Open the review of the product's next gate, then show it."""
    await request.form(max_files=0, max_fields=2)
    uow, who = page_uow(request), actor(request)
    product = resolve_product(uow, key, actor=who)
    target = next_phase(product.phase)
    if target is None:
        raise Conflict(f"{product.key} is in its last phase: it has no gate to pass")
    view = decisions.open_decision(uow, product.key, target, actor=who)
    return RedirectResponse(f"/gate-reviews/{view.id}", 303)


@router.post("/gate-reviews/{id}/signoffs", name="sign_gate_review", openapi_extra=SIGN)
async def sign(request: Request, id: ReviewId) -> Response:
    form = await request.form(max_files=0, max_fields=4)
    try:
        verdict = _text(form, "verdict")
        if verdict not in ("approve", "reject"):
            raise invalid("verdict", "choose approve or reject")
        decisions.sign(
            page_uow(request),
            id,
            approve=verdict == "approve",
            comment=_text(form, "comment"),
            actor=actor(request),
        )
    except REFUSED as error:
        return _page(request, id, error=error.message, status_code=_status(error))
    return RedirectResponse(f"/gate-reviews/{id}", 303)


@router.post("/gate-reviews/{id}/waivers", name="waive_gate_criterion", openapi_extra=DECIDE)
async def waive(request: Request, id: ReviewId) -> Response:
    form = await request.form(max_files=0, max_fields=4)
    try:
        decisions.waive(
            page_uow(request),
            id,
            _text(form, "criterion_id"),
            reason=_text(form, "reason"),
            actor=actor(request),
        )
    except REFUSED as error:
        return _page(request, id, error=error.message, status_code=_status(error))
    return RedirectResponse(f"/gate-reviews/{id}", 303)


@router.post("/gate-reviews/{id}/decision", name="decide_gate_review", openapi_extra=DECIDE)
async def decide(request: Request, id: ReviewId) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    try:
        decisions.decide(
            page_uow(request),
            id,
            outcome=_text(form, "outcome"),
            rationale=_text(form, "rationale"),
            actions=parse_actions(_text(form, "actions")),
            actor=actor(request),
        )
    except REFUSED as error:
        return _page(request, id, error=error.message, status_code=_status(error))
    return RedirectResponse(f"/gate-reviews/{id}", 303)


@router.get("/products/{key}/gate-actions", name="product_gate_actions", openapi_extra=READ)
def gate_actions(request: Request, key: ProductKey) -> Response:
    """The product page's section: its reviews, the next gate's review, the action items."""
    uow, who = page_uow(request), actor(request)
    product = resolve_product(uow, key, actor=who)
    reviews = decisions.reviews_of(uow, product.key, actor=who)
    context = {
        "key": product.key,
        "reviews": reviews,
        "items": decisions.action_items_of(uow, product.key, actor=who),
        "next_gate": next_phase(product.phase),
        "open_review": next((r for r in reviews if r.status == "open"), None),
    }
    template = "partials/gate_actions.html" if is_htmx(request) else "gate_decision_list.html"
    return render(request, template, {"nav": "portfolio", **context})
