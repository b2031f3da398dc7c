"""Control plan pages: a product's plan per station (with its CSV), the forms that add, change and
delete its items, a gauge with its gage studies, and the CTQ coverage fragment of the build page.

Forms post with the CSRF token as their first field; a role that may not change control plans
sees no forms and is refused the posts (403). Bad input shows the page again with each field's
error beside the values typed; everything is checked by the service.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from phasegate.domain.errors import FieldError, InvalidInput
from phasegate.domain.policy import Action, Kind
from phasegate.services import control_plan as cp
from phasegate.services import crud
from phasegate.services.analysis.charts import CHART_KINDS
from phasegate.services.paging import MAX_ID, MAX_KEY
from phasegate.services.products import resolve_product
from phasegate.store.models import ControlPlanStatus, FrequencyBasis
from phasegate.web.auth import actor
from phasegate.web.rendering import is_htmx, render
from phasegate.web.routes import PAGE_DEPENDENCIES, BuildId, Digits, RecordId, needs, page_uow

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

READ = needs(Action.READ, Kind.CONTROL_PLAN)
CREATE = needs(Action.CREATE, Kind.CONTROL_PLAN)
UPDATE = needs(Action.UPDATE, Kind.CONTROL_PLAN)

ProductKey = Annotated[str, Path(min_length=1, max_length=MAX_KEY)]
PlanId = Annotated[int | None, Digits, Query(ge=1, le=MAX_ID)]

ITEM_FIELDS = (
    "station_id",
    "characteristic_id",
    "method",
    "gauge_id",
    "sample_size",
    "frequency",
    "frequency_every",
    "frequency_per",
    "chart_type",
    "reaction_plan",
)
PLAN_FIELDS = ("name", "plan_version", "status", "line_id")


def _form_values(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """The text of each named field (an upload or a missing field is empty)."""
    values = {}
    for name in names:
        raw = form.get(name)
        values[name] = raw.strip() if isinstance(raw, str) else ""
    return values


def _errors(error: InvalidInput) -> dict[str, str]:
    """Each bad field's message, by field; one not on the form under ``form``."""
    shown: dict[str, str] = {}
    for field in error.fields or [FieldError("form", error.message)]:
        shown.setdefault(field.loc, field.message)
    return shown


# The choices the forms offer, from the enums and the chart table that define them.
OPTIONS = {
    "chart_kinds": CHART_KINDS,
    "frequency_bases": list(FrequencyBasis),
    "plan_statuses": list(ControlPlanStatus),
}


def _plan_page(
    request: Request,
    key: str,
    plan_id: int | None,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The product's plan (or the form that creates one), with the item form."""
    uow, who = page_uow(request), actor(request)
    product, plans = cp.product_plans(uow, key, actor=who)
    sheet = cp.plan_sheet(uow, product.key, actor=who, plan_id=plan_id) if plans else None
    choices = cp.plan_choices(uow, sheet.plan, actor=who) if sheet else None
    coverage = (
        cp.ctq_coverage(uow, product.key, actor=who, plan_id=sheet.plan.id) if sheet else None
    )
    lines = cp.line_choices(uow, actor=who) if not plans else None
    context = {
        "nav": "portfolio",
        "product": product,
        "plans": plans,
        "sheet": sheet,
        "choices": choices,
        "c": coverage,
        "lines": lines,
        "values": values or {},
        "errors": errors or {},
        **OPTIONS,
    }
    return render(request, "control_plan.html", context, status_code=status_code)


@router.get("/products/{key}/control-plan", name="control_plan", openapi_extra=READ)
def control_plan_page(request: Request, key: ProductKey, plan: PlanId = None) -> Response:
    return _plan_page(request, key, plan)


@router.get("/products/{key}/control-plan.csv", name="control_plan_csv", openapi_extra=READ)
def control_plan_csv(request: Request, key: ProductKey, plan: PlanId = None) -> Response:
    sheet = cp.plan_sheet(page_uow(request), key, actor=actor(request), plan_id=plan)
    columns = list(cp.PlanRow.__slots__)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in sheet.rows:
        writer.writerow(["" if v is None else v for v in (getattr(row, c) for c in columns)])
    name = f"{sheet.product_key}-control-plan-{sheet.plan.id}.csv"
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/products/{key}/control-plan", name="control_plan_create", openapi_extra=CREATE)
async def create_plan(request: Request, key: ProductKey) -> Response:
    values = _form_values(await request.form(), PLAN_FIELDS)
    uow, who = page_uow(request), actor(request)
    product = resolve_product(uow, key, actor=who)
    data = {k: v for k, v in values.items() if v} | {"product_id": product.id}
    try:
        plan = crud.create(uow, cp.CONTROL_PLANS, data, actor=who)
    except InvalidInput as error:
        return _plan_page(request, key, None, values=values, errors=_errors(error), status_code=400)
    return RedirectResponse(f"/products/{product.key}/control-plan?plan={plan.id}", 303)


@router.post(
    "/products/{key}/control-plan/items", name="control_plan_add_item", openapi_extra=CREATE
)
async def add_item(request: Request, key: ProductKey, plan: PlanId = None) -> Response:
    values = _form_values(await request.form(), ITEM_FIELDS)
    uow, who = page_uow(request), actor(request)
    found = cp.plan_of_product(uow, key, actor=who, plan_id=plan)
    try:
        item = crud.create(uow, cp.CONTROL_PLAN_ITEMS, values | {"plan_id": found.id}, actor=who)
    except InvalidInput as error:
        return _plan_page(
            request, key, found.id, values=values, errors=_errors(error), status_code=400
        )
    return RedirectResponse(f"/products/{key}/control-plan?plan={found.id}#item-{item.id}", 303)


def _item_page(
    request: Request,
    key: str,
    item_id: int,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    uow, who = page_uow(request), actor(request)
    plan, item = cp.product_item(uow, key, item_id, actor=who)
    shown = {name: getattr(item, name) for name in ITEM_FIELDS}
    if item.frequency_per is not None:
        shown["frequency_per"] = item.frequency_per.value
    context = {
        "nav": "portfolio",
        "key": key,
        "plan": plan,
        "item": item,
        "values": values or {k: "" if v is None else str(v) for k, v in shown.items()},
        "errors": errors or {},
        "choices": cp.plan_choices(uow, plan, actor=who),
        **OPTIONS,
    }
    return render(request, "control_plan_item.html", context, status_code=status_code)


@router.get(
    "/products/{key}/control-plan/items/{id}", name="control_plan_item", openapi_extra=UPDATE
)
def item_page(request: Request, key: ProductKey, id: RecordId) -> Response:
    return _item_page(request, key, id)


@router.post(
    "/products/{key}/control-plan/items/{id}",
    name="control_plan_update_item",
    openapi_extra=UPDATE,
)
async def update_item(request: Request, key: ProductKey, id: RecordId) -> Response:
    form = await request.form()
    values = _form_values(form, ITEM_FIELDS)
    uow, who = page_uow(request), actor(request)
    plan, _ = cp.product_item(uow, key, id, actor=who)
    version = _version(form)
    try:
        crud.update(uow, cp.CONTROL_PLAN_ITEMS, id, values, actor=who, expected_version=version)
    except InvalidInput as error:
        return _item_page(request, key, id, values=values, errors=_errors(error), status_code=400)
    return RedirectResponse(f"/products/{key}/control-plan?plan={plan.id}#item-{id}", 303)


@router.post(
    "/products/{key}/control-plan/items/{id}/delete",
    name="control_plan_delete_item",
    openapi_extra=UPDATE,
)
async def delete_item(request: Request, key: ProductKey, id: RecordId) -> Response:
    form = await request.form()
    uow, who = page_uow(request), actor(request)
    plan, _ = cp.product_item(uow, key, id, actor=who)
    cp.delete_item(uow, id, actor=who, expected_version=_version(form))
    return RedirectResponse(f"/products/{key}/control-plan?plan={plan.id}", 303)


def _version(form: FormData) -> int | None:
    """The version the form was made from (its hidden ``version`` field)."""
    raw = form.get("version")
    if not isinstance(raw, str) or not raw.strip():
        return None
    if not (raw.isascii() and raw.strip().isdigit()):
        raise InvalidInput(f"version: {raw!r} is not a version", [FieldError("version", raw)])
    return int(raw)


@router.get("/gauges/{id}", name="gauge", openapi_extra=READ)
def gauge_page(request: Request, id: RecordId) -> Response:
    sheet = cp.gauge_sheet(page_uow(request), id, actor=actor(request))
    return render(request, "gauge.html", {"nav": "portfolio", "g": sheet})


@router.get("/builds/{build_id}/control-plan", name="build_control_plan", openapi_extra=READ)
def build_coverage(request: Request, build_id: BuildId) -> Response:
    """Which CTQs the control plan covers, with gage verdicts: a fragment for HTMX, else a
    page of its own."""
    coverage = cp.build_coverage(page_uow(request), build_id, actor=actor(request))
    context = {"nav": "portfolio", "c": coverage, "build_id": build_id}
    if is_htmx(request):
        return render(request, "partials/control_plan_coverage.html", context)
    return render(request, "control_plan_coverage.html", context)
