"""Page routes: parse the request, call one read service, render one template."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from starlette.responses import RedirectResponse, Response

from phasegate.domain.errors import invalid
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, Principal, permission
from phasegate.domain.text import storable
from phasegate.services import builds, crud, products
from phasegate.services.paging import (
    MAX_ID,
    MAX_KEY,
    MAX_PAGE,
    MAX_SEARCH,
    KeysetPage,
    Page,
    Window,
)
from phasegate.services.read.build import UnitRow, build_overview, build_units
from phasegate.services.read.feedback import product_feedback
from phasegate.services.read.findings import product_findings
from phasegate.services.read.portfolio import phase_counts, portfolio
from phasegate.services.read.product import product_overview
from phasegate.services.read.rows import product_summary
from phasegate.services.read.test_run import test_run_detail
from phasegate.services.read.unit import unit_history
from phasegate.store.uow import UnitOfWork
from phasegate.web import charts
from phasegate.web.auth import actor, check_permission
from phasegate.web.rendering import is_htmx, render, url_with

UNITS_PER_PAGE = 50
ROWS_PER_PAGE = 25
LAST_PAGE = 1_000_000  # far beyond any list; keeps every offset a small integer


def _ascii_digits(value: object) -> object:
    """Numbers in a URL are ASCII digits only: no sign, no underscores, no other scripts."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("ascii_digits", "must be written with the digits 0-9 only")
    return value


Digits = BeforeValidator(_ascii_digits)
BuildId = Annotated[int, Digits, Path(ge=1, le=MAX_ID)]
RecordId = Annotated[int, Digits, Path(ge=1, le=MAX_ID)]
PageNumber = Annotated[int, Digits, Query(ge=1, le=LAST_PAGE)]
Rating = Annotated[int | None, Digits, Query(ge=1, le=5)]
Search = Annotated[str | None, Query(max_length=MAX_SEARCH)]
Key = Annotated[str | None, Query(max_length=MAX_KEY)]


def _refuse_unstorable_text(request: Request) -> None:
    """A NUL byte or a lone surrogate in the path or the query is a bad request, not a lookup."""
    values = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in values:
        if isinstance(value, str) and not storable(value):
            raise invalid(name, "must not contain NUL bytes or lone surrogates")


# Who may open a page is checked first: an anonymous visitor learns nothing from its errors.
PAGE_DEPENDENCIES = [Depends(check_permission), Depends(_refuse_unstorable_text)]
"""What every page router runs before its route: the declared permission, then the input."""
router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)


def needs(action: Action, kind: Kind) -> dict[str, Any]:
    """The ``openapi_extra`` of a page that needs ``action`` on ``kind``."""
    return {PERMISSION_KEY: permission(action, kind)}


READ_PRODUCTS = needs(Action.READ, Kind.PRODUCT)
# The product page shows requirements, feedback and gate decisions besides the builds.
READ_PRODUCT_PAGE = needs(Action.READ, Kind.REQUIREMENT)
READ_FINDINGS = needs(Action.READ, Kind.FINDING)
READ_FEEDBACK = needs(Action.READ, Kind.FEEDBACK)
READ_BUILDS = needs(Action.READ, Kind.BUILD)
READ_UNITS = needs(Action.READ, Kind.UNIT)
READ_TEST_DATA = needs(Action.READ, Kind.TEST_DATA)


def page_uow(request: Request) -> UnitOfWork:
    """A unit of work of the application's database."""
    uow: UnitOfWork = request.app.state.uow_factory()
    return uow


def offset_of(page: int, size: int) -> int:
    return (page - 1) * size


def page_param(page: int) -> int | None:
    """Page 1 is the default, so its URL leaves the parameter out."""
    return page if page > 1 else None


@router.get("/", name="portfolio", openapi_extra=READ_PRODUCTS)
def portfolio_page(request: Request, phase: str | None = None) -> Response:
    uow = page_uow(request)
    who = actor(request)
    cards = portfolio(uow, actor=who, phase=phase or None)
    return render(
        request,
        "portfolio.html",
        {
            "nav": phase or "portfolio",
            "cards": cards,
            "phase_counts": phase_counts(uow, actor=who),
            "phase": phase or None,
            "partner_builds": _partner_builds(uow, who) if who.scoped else None,
        },
    )


def _partner_builds(uow: UnitOfWork, who: Principal) -> dict[str, list[Any]]:
    """A partner user's builds per product key: its cards link to them, not to the product
    page it may not read. Both lists are scoped to the partner by the services."""
    keys = {
        p.id: p.key for p in crud.list_page(uow, products.PRODUCTS, actor=who, limit=MAX_PAGE).items
    }
    found = crud.list_page(uow, builds.BUILDS, actor=who, limit=MAX_PAGE)
    per_product: dict[str, list[Any]] = {}
    for build in found.items:
        per_product.setdefault(keys.get(build.product_id, ""), []).append(build)
    return per_product


@router.get("/products/{key}", name="product", openapi_extra=READ_PRODUCT_PAGE)
def product_page(request: Request, key: str) -> Response:
    result = product_overview(page_uow(request), key, actor=actor(request))
    return render(
        request,
        "product.html",
        {
            "nav": "portfolio",
            "o": result,
            "iteration_chart": charts.iteration_chart(result.revisions),
        },
    )


@router.get("/products/{key}/findings", name="product_findings", openapi_extra=READ_FINDINGS)
def findings_page(
    request: Request,
    key: str,
    severity: str | None = None,
    status: str = "open",
    revision: str | None = None,
    page: PageNumber = 1,
) -> Response:
    filters = {"severity": severity or None, "status": status, "revision": revision or None}
    return _product_list(request, key, "findings", product_findings, filters, page)


@router.get("/products/{key}/feedback", name="product_feedback", openapi_extra=READ_FEEDBACK)
def feedback_page(
    request: Request,
    key: str,
    revision: str | None = None,
    rating: Rating = None,
    page: PageNumber = 1,
) -> Response:
    filters = {"revision": revision or None, "rating": rating}
    return _product_list(request, key, "feedback", product_feedback, filters, page)


def _product_list(
    request: Request,
    key: str,
    name: str,
    rows_of: Callable[..., Page[Any]],
    filters: Mapping[str, Any],
    page: int,
) -> Response:
    """A list page of the product's ``name`` (findings, feedback): one page of what ``rows_of``
    (the read service) returns for ``filters`` (its parameters); HTMX gets the table alone."""
    uow = page_uow(request)
    who = actor(request)
    summary = product_summary(uow, key, actor=who)
    offset = offset_of(page, ROWS_PER_PAGE)
    rows = rows_of(uow, key, **filters, actor=who, limit=ROWS_PER_PAGE, offset=offset)
    base = f"/products/{summary.key}/{name}"
    context = {"rows": rows, "filters": filters, "base": base, "product": summary}
    if is_htmx(request):
        return _table(request, f"partials/{name}_table.html", context, page)
    return render(request, f"{name}.html", {**context, "nav": "portfolio"})


def _table(request: Request, template: str, context: dict[str, Any], page: int) -> Response:
    """A list's table alone, for HTMX, with the address of the whole page for the browser."""
    push = url_with(context["base"], context["filters"], page=page_param(page))
    return render(request, template, context, headers={"HX-Push-Url": push})


def _units(
    request: Request, build_id: int, filters: Mapping[str, str | None], window: Window
) -> KeysetPage[UnitRow]:
    return build_units(
        page_uow(request),
        build_id,
        actor=actor(request),
        status=filters["status"],
        allocation=filters["allocation"],
        q=filters["q"],
        limit=UNITS_PER_PAGE,
        window=window,
    )


def _unit_filters(status: str | None, allocation: str | None, q: str | None) -> dict[str, Any]:
    return {"status": status or None, "allocation": allocation or None, "q": q or None}


def _unit_window(after: str | None, before: str | None, last: bool, page: int) -> Window:
    """Where the unit list starts: after or before a serial, the last page, or (old links)
    a numbered page."""
    return Window(
        after=after or None,
        before=before or None,
        last=last,
        offset=offset_of(page, UNITS_PER_PAGE),
    )


def _window_params(window: Window) -> dict[str, Any]:
    """The query parameters that name ``window`` in a URL."""
    return {
        "after": window.after,
        "before": window.before,
        "last": 1 if window.last else None,
        "page": page_param(window.offset // UNITS_PER_PAGE + 1),
    }


@router.get("/builds/{build_id}", name="build", openapi_extra=READ_BUILDS)
def build_page(
    request: Request,
    build_id: BuildId,
    status: str | None = None,
    allocation: str | None = None,
    q: Search = None,
    after: Key = None,
    before: Key = None,
    last: bool = False,
    page: PageNumber = 1,
) -> Response:
    result = build_overview(page_uow(request), build_id, actor=actor(request))
    filters = _unit_filters(status, allocation, q)
    units = _units(request, build_id, filters, _unit_window(after, before, last, page))
    return render(
        request,
        "build.html",
        {
            "nav": "portfolio",
            "o": result,
            "units": units,
            "filters": filters,
            "base": f"/builds/{build_id}",
            "status_chart": charts.unit_status_chart(result.by_status),
            "yield_chart": charts.station_yield_chart(result.stations),
        },
    )


@router.get("/builds/{build_id}/units", name="build_units", openapi_extra=READ_UNITS)
def build_units_partial(
    request: Request,
    build_id: BuildId,
    status: str | None = None,
    allocation: str | None = None,
    q: Search = None,
    after: Key = None,
    before: Key = None,
    last: bool = False,
    page: PageNumber = 1,
) -> Response:
    """The unit table alone, for HTMX; a browser asking directly gets the whole build page."""
    base = f"/builds/{build_id}"
    filters = _unit_filters(status, allocation, q)
    window = _unit_window(after, before, last, page)
    address = url_with(base, filters, **_window_params(window))
    if not is_htmx(request):
        return RedirectResponse(address, 303)
    units = _units(request, build_id, filters, window)
    context = {"units": units, "filters": filters, "base": base}
    return render(request, "partials/units_table.html", context, headers={"HX-Push-Url": address})


@router.get("/units", name="unit_lookup", openapi_extra=READ_UNITS)
def unit_lookup(serial: str = "", product: str | None = None) -> Response:
    """The serial search in the top bar: go to that unit's page."""
    serial = serial.strip()
    if not serial:
        return RedirectResponse("/", 303)
    return RedirectResponse(
        url_with(f"/units/{quote(serial, safe='')}", product=product or None), 303
    )


@router.get("/units/{serial}", name="unit", openapi_extra=READ_UNITS)
def unit_page(request: Request, serial: str, product: str | None = None) -> Response:
    history = unit_history(page_uow(request), serial, product or None, actor=actor(request))
    return render(request, "unit.html", {"nav": "portfolio", "u": history})


@router.get("/test-runs/{id}", name="test_run", openapi_extra=READ_TEST_DATA)
def test_run_page(request: Request, id: RecordId) -> Response:
    run = test_run_detail(page_uow(request), id, actor=actor(request))
    return render(request, "test_run.html", {"nav": "portfolio", "r": run})
