"""The product page's readiness panel: the product's next gate evaluated on its evidence.

``/products/{key}/gates/readiness`` answers the panel as a fragment for HTMX (the product page
loads it), else as a page of its own. It shows the suggestion, the criteria with the blocking
failures first, each value against its threshold, and links to the pages behind the evidence:
the engine's symbolic links (``{"kind": "characteristic", "build": "P2", "name": "Flow"}``)
become the addresses of the build, characteristic, cost, line, control plan, gauge and findings
pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from phasegate.domain.phases import next_phase
from phasegate.domain.policy import Action, Kind
from phasegate.gates import CriterionResult
from phasegate.services.gates.evaluation import (
    EvidencePlaces,
    evaluate_gate,
    evidence_places,
    readiness_order,
)
from phasegate.services.paging import MAX_KEY
from phasegate.services.products import resolve_product
from phasegate.web.auth import actor
from phasegate.web.rendering import is_htmx, render
from phasegate.web.routes import PAGE_DEPENDENCIES, needs, page_uow

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

READ = needs(Action.READ, Kind.GATE_DECISION)
ProductKey = Annotated[str, Path(min_length=1, max_length=MAX_KEY)]


@dataclass(frozen=True, slots=True)
class Place:
    """A link of a criterion as the panel shows it: a label and, where there is one, a page."""

    label: str
    url: str | None


def _build_place(places: EvidencePlaces, code: str, suffix: str = "") -> str | None:
    build_id = places.builds.get(code)
    return None if build_id is None else f"/builds/{build_id}{suffix}"


def _characteristic(places: EvidencePlaces, link: Mapping[str, Any]) -> Place:
    build_id = places.builds.get(str(link.get("build")))
    char_id = places.characteristics.get(str(link.get("name")))
    url = None
    if build_id is not None and char_id is not None:
        url = f"/builds/{build_id}/characteristics/{char_id}"
    return Place(f"{link.get('name')} on {link.get('build')}", url)


def _latest(places: EvidencePlaces, suffix: str) -> str | None:
    return None if places.latest_build is None else f"/builds/{places.latest_build}{suffix}"


def place(link: Mapping[str, Any], places: EvidencePlaces) -> Place:
    """The label and page of one symbolic link of a criterion."""
    kind = link.get("kind")
    product = f"/products/{quote(places.product)}"
    if kind == "characteristic":
        return _characteristic(places, link)
    if kind == "build":
        return Place(f"build {link['code']}", _build_place(places, str(link["code"])))
    if kind == "line":
        line_build = places.lines.get(str(link["name"]))
        return Place(
            f"line {link['name']}", None if line_build is None else f"/builds/{line_build}/line"
        )
    if kind == "finding":
        return Place(f"finding #{link['id']}", f"{product}/findings?status=all")
    if kind in ("bom", "part"):
        label = f"part {link['number']}" if kind == "part" else f"BOM rev {link['revision']}"
        return Place(label, _latest(places, "/cost"))
    if kind == "control_plan":
        return Place(f"control plan {link['name']}", f"{product}/control-plan")
    if kind == "gauge":
        gauge_id = places.gauges.get(str(link["name"]))
        return Place(f"gauge {link['name']}", None if gauge_id is None else f"/gauges/{gauge_id}")
    if kind == "requirement":
        return Place(f"requirement {link['key']}", f"{product}#requirements")
    if kind == "budget":
        return Place(f"{link['phase']} budget", f"{product}#builds")
    if kind == "partner":
        return Place(f"partner {link['name']}", f"{product}#builds")
    if kind == "checklist":
        return Place(
            "go-to-market checklist", f"/api/v1/go-to-market-items?product={quote(places.product)}"
        )
    return Place(f"product {places.product}", product)


@dataclass(frozen=True, slots=True)
class Row:
    """One criterion of the panel with its links as places."""

    criterion: CriterionResult
    places: tuple[Place, ...]


@router.get("/products/{key}/gates/readiness", name="gate_readiness", openapi_extra=READ)
def gate_readiness(request: Request, key: ProductKey) -> Response:
    """The readiness panel: a fragment for HTMX, else a page of its own."""
    uow, who = page_uow(request), actor(request)
    product = resolve_product(uow, key, actor=who)
    to = next_phase(product.phase)
    context: dict[str, Any] = {"nav": "portfolio", "product": product, "to": to, "e": None}
    if to is not None:
        evaluation = evaluate_gate(uow, product.key, to, actor=who)
        places = evidence_places(uow, product.key, evaluation, actor=who)
        rows = [
            Row(c, tuple(place(link, places) for link in c.links))
            for c in readiness_order(evaluation)
        ]
        context.update(e=evaluation, rows=rows)
    name = (
        "partials/gate_readiness.html" if is_htmx(request) else "partials/gate_readiness_page.html"
    )
    return render(request, name, context)
