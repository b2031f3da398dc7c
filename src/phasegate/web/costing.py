"""Cost sections: a build's cost per unit with its waterfall against the target (a fragment of
the build page, or a page of its own), and the product page's cost of its latest pilot or
production build.

The waterfall is built here from the service's result (``services.costing``); nothing here
computes a cost.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from phasegate.domain.policy import Action, Kind
from phasegate.services.costing import (
    SHEET_COLUMNS,
    BuildCost,
    build_cost_by_id,
    cost_sheet,
    latest_line_build_cost,
    learning_chart,
)
from phasegate.services.paging import MAX_KEY
from phasegate.web.auth import actor
from phasegate.web.charts import AMBER, BLUE, GREEN, GRID, INK, RED, Figure, _layout
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


def learning_figure(result: BuildCost) -> Figure | None:
    """Labor hours per unit against the unit number on log axes: the units observed, Wright's
    curve fitted to them and its confidence band, out to the target volume."""
    chart = learning_chart(result)
    if chart is None:
        return None
    band = f"{chart.confidence * 100:g} % band"
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": band,
            "x": list(chart.line_units),
            "y": list(chart.high),
            "line": {"width": 0},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": band,
            "x": list(chart.line_units),
            "y": list(chart.low),
            "fill": "tonexty",
            "fillcolor": "rgba(37, 99, 235, 0.15)",
            "line": {"width": 0},
            "hovertemplate": "unit %{x:,.0f}: from %{y:.4f} h<extra>" + band + "</extra>",
        },
        {
            "type": "scattergl" if len(chart.units) > 1000 else "scatter",
            "mode": "markers",
            "name": "Units observed",
            "x": list(chart.units),
            "y": list(chart.hours),
            "marker": {"color": "#94a3b8", "size": 4},
            "hovertemplate": "unit %{x}: %{y:.4f} h<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "Wright's curve",
            "x": list(chart.line_units),
            "y": list(chart.fitted),
            "line": {"color": BLUE, "width": 2.5},
            "hovertemplate": "unit %{x:,.0f}: %{y:.4f} h<extra>fitted</extra>",
        },
    ]
    if result.projection is not None:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"At {result.volume:,} units",
                "x": [result.projection.volume],
                "y": [result.projection.labor_hours],
                "marker": {"color": GREEN, "size": 10, "symbol": "diamond"},
                "hovertemplate": "unit %{x:,.0f}: %{y:.4f} h<extra>projected</extra>",
            }
        )
    return {
        "data": data,
        "layout": _layout(
            height=300,
            hovermode="closest",
            legend={
                "orientation": "h",
                "y": 1.02,
                "yanchor": "bottom",
                "x": 0,
                "font": {"size": 11},
                "traceorder": "normal",
            },
            xaxis={"type": "log", "title": {"text": "Unit number"}, "gridcolor": GRID},
            yaxis={"type": "log", "title": {"text": "Labor hours per unit"}, "gridcolor": GRID},
        ),
    }


def _context(result: BuildCost | None, **more: Any) -> dict[str, Any]:
    figure = waterfall_figure(result) if result is not None else None
    learning = learning_figure(result) if result is not None else None
    return {"c": result, "figure": figure, "learning": learning, "nav": "portfolio", **more}


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


@router.get("/builds/{build_id}/cost.csv", name="build_cost_csv", openapi_extra=READ_BUILDS)
def build_cost_csv(request: Request, build_id: BuildId) -> Response:
    """The build's cost sheet as a CSV download (empty but for its header without a cost)."""
    result = build_cost_by_id(page_uow(request), build_id, actor=actor(request))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SHEET_COLUMNS)
    for row in cost_sheet(result):
        writer.writerow([row[c] for c in SHEET_COLUMNS])
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{result.build}-cost.csv")
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
