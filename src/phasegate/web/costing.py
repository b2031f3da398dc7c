"""Cost sections: a build's cost per unit with its waterfall against the target (a fragment of
the build page, or a page of its own), and the product page's cost of its latest pilot or
production build.

The waterfall is built here from the service's result (``services.costing``); nothing here
computes a cost.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from phasegate.domain.policy import Action, Kind
from phasegate.services.costing import BuildCost, build_cost_by_id, latest_line_build_cost
from phasegate.services.paging import MAX_KEY
from phasegate.web.auth import actor
from phasegate.web.charts import AMBER, BLUE, GRID, INK, RED, Figure, _layout
from phasegate.web.rendering import is_htmx, render
from phasegate.web.routes import PAGE_DEPENDENCIES, BuildId, needs, page_uow

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

READ_BUILDS = needs(Action.READ, Kind.BUILD)
ProductKey = Annotated[str, Path(min_length=1, max_length=MAX_KEY)]
TOTAL = "#64748b"


def waterfall_figure(result: BuildCost) -> Figure | None:
    """The cost per good unit built up from its components, then the gap to the target; the
    cost projected to the target volume as a dotted line."""
    if not result.waterfall:
        return None
    steps = result.waterfall
    figure: Figure = {
        "data": [
            {
                "type": "waterfall",
                "name": "Cost per good unit",
                "orientation": "v",
                "x": [s.label for s in steps],
                "y": [s.value for s in steps],
                "measure": [s.measure for s in steps],
                "text": [f"{s.value:,.2f}" for s in steps],
                "textposition": "outside",
                "connector": {"line": {"color": GRID}},
                "increasing": {"marker": {"color": BLUE}},
                "decreasing": {"marker": {"color": RED if result.over_target else AMBER}},
                "totals": {"marker": {"color": TOTAL}},
                "hovertemplate": "%{x}: %{y:,.2f}<extra></extra>",
                "cliponaxis": False,
            }
        ],
        "layout": _layout(
            height=340,
            showlegend=False,
            hovermode="closest",
            margin={"l": 56, "r": 24, "t": 28, "b": 64},
            yaxis={
                "title": {"text": "Cost per good unit"},
                "gridcolor": GRID,
                "rangemode": "tozero",
            },
            xaxis={"type": "category", "linecolor": GRID, "automargin": True},
        ),
    }
    projection = result.projection
    if projection is not None:
        figure["layout"]["shapes"] = [
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": projection.per_good_unit,
                "y1": projection.per_good_unit,
                "line": {"color": INK, "dash": "dot", "width": 1.5},
            }
        ]
        figure["layout"]["annotations"] = [
            {
                "xref": "paper",
                "x": 0.5,
                "xanchor": "center",
                "y": projection.per_good_unit,
                "yanchor": "top",
                "text": f"projected at {result.volume:,} units: {projection.per_good_unit:,.2f}",
                "showarrow": False,
                "font": {"size": 11, "color": INK},
            }
        ]
    return figure


def _context(result: BuildCost | None, **more: Any) -> dict[str, Any]:
    figure = waterfall_figure(result) if result is not None else None
    return {"c": result, "figure": figure, "nav": "portfolio", **more}


@router.get("/builds/{build_id}/cost", name="build_cost", openapi_extra=READ_BUILDS)
def build_cost_section(request: Request, build_id: BuildId) -> Response:
    """The build's cost: a fragment for HTMX, else a page of its own."""
    result = build_cost_by_id(page_uow(request), build_id, actor=actor(request))
    context = _context(result)
    if is_htmx(request):
        return render(request, "partials/cost_section.html", context)
    return render(request, "partials/cost_page.html", context)


@router.get("/products/{key}/cost", name="product_cost", openapi_extra=READ_BUILDS)
def product_cost_section(request: Request, key: ProductKey) -> Response:
    """The cost of the product's latest pilot or production build, against its target."""
    result = latest_line_build_cost(page_uow(request), key, actor=actor(request))
    context = _context(result, product_key=key, on_product=True)
    if is_htmx(request):
        return render(request, "partials/cost_section.html", context)
    return render(request, "partials/cost_page.html", context)
