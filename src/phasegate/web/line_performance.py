"""The build's line performance: a fragment of the build page (a page of its own without HTMX).

Shows the takt time, the bottleneck, the balance, the throughput and the flow of the build's
line, and per station the cycle times, their trend over the unit index, the first-pass yield,
the waiting and the rework, from ``services.read.line_performance``. The cycle-time chart is
built here from that result; nothing here computes a statistic.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from phasegate.services.read.line_performance import BuildLinePerformance, build_line_performance
from phasegate.web.auth import actor
from phasegate.web.charts import AMBER, BLUE, GRID, INK, RED, Figure, _layout
from phasegate.web.rendering import is_htmx, render
from phasegate.web.routes import PAGE_DEPENDENCIES, READ_BUILDS, BuildId, page_uow

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)


def cycle_time_chart(perf: BuildLinePerformance) -> Figure:
    """Effective cycle time per station (mean over its servers, whisker to the 90th
    percentile), the bottleneck in red and named, the takt time as a dashed line."""
    stations = perf.stations
    names = [s.name for s in stations]
    means = [s.effective_cycle_s for s in stations]
    p90s = [s.effective_p90_s for s in stations]
    takt = None if perf.takt is None else perf.takt.takt_s
    shapes, annotations = [], []
    if takt is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": takt,
                "y1": takt,
                "line": {"color": AMBER, "width": 2, "dash": "dash"},
            }
        )
        annotations.append(
            {
                "xref": "paper",
                "x": 0,
                "xanchor": "left",
                "y": takt,
                "yanchor": "bottom",
                "text": f"Takt {takt:.4g} s",
                "showarrow": False,
                "bgcolor": "rgba(255,255,255,0.85)",
                "font": {"color": AMBER},
            }
        )
    bottleneck = perf.bottleneck
    if bottleneck is not None:
        annotations.append(
            {
                "x": bottleneck.name,
                "y": bottleneck.effective_p90_s or bottleneck.effective_cycle_s,
                "yanchor": "bottom",
                "text": "Bottleneck",
                "showarrow": True,
                "arrowhead": 2,
                "ay": -28,
                "font": {"color": RED},
                "arrowcolor": RED,
            }
        )
    return {
        "data": [
            {
                "type": "bar",
                "name": "Effective cycle time (mean ÷ servers)",
                "x": names,
                "y": means,
                "marker": {"color": [RED if s.bottleneck else BLUE for s in stations]},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        p - m if p is not None and m is not None else None
                        for p, m in zip(p90s, means, strict=True)
                    ],
                    "arrayminus": [0 if p is not None else None for p in p90s],
                    "color": INK,
                    "thickness": 1.5,
                    "width": 6,
                },
                "customdata": [
                    [s.cycle.mean_s, s.cycle.median_s, s.cycle.p90_s, s.servers, s.cycle.n]
                    for s in stations
                ],
                "hovertemplate": (
                    "%{x}: %{y:.3~f} s effective<br>mean %{customdata[0]:.3~f} s, "
                    "median %{customdata[1]:.3~f} s, p90 %{customdata[2]:.3~f} s<br>"
                    "%{customdata[3]} server(s), n = %{customdata[4]}<extra></extra>"
                ),
            },
            {
                # A legend entry for the takt line drawn as a shape.
                "type": "scatter",
                "mode": "lines",
                "name": "Takt time",
                "x": [None],
                "y": [None],
                "line": {"color": AMBER, "width": 2, "dash": "dash"},
                "visible": True if takt is not None else "legendonly",
                "hoverinfo": "skip",
            },
        ],
        "layout": _layout(
            hovermode="closest",
            shapes=shapes,
            annotations=annotations,
            yaxis={
                "title": {"text": "Seconds per unit"},
                "rangemode": "tozero",
                "gridcolor": GRID,
                "zeroline": False,
            },
            xaxis={"type": "category", "linecolor": GRID, "automargin": True},
            margin={"l": 56, "r": 16, "t": 40, "b": 40},
        ),
    }


@router.get("/builds/{build_id}/line", name="build_line_performance", openapi_extra=READ_BUILDS)
def line_performance(request: Request, build_id: BuildId) -> Response:
    """The build's line performance: a fragment for HTMX, else a page of its own."""
    perf = build_line_performance(page_uow(request), build_id, actor=actor(request))
    context = {"perf": perf, "chart": cycle_time_chart(perf), "nav": "portfolio"}
    if is_htmx(request):
        return render(request, "partials/line_performance.html", context)
    return render(request, "partials/line_page.html", context)
