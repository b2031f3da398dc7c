"""Result objects -> Plotly figures (plain JSON-ready dicts). Nothing here computes a metric."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from phasegate.domain.enums import UNIT_STATUS_COLOURS, UnitStatus
from phasegate.services.read.build import StationStat
from phasegate.services.read.product import RevisionIteration
from phasegate.services.read.rows import Count
from phasegate.web.rendering import fmt_interval_title

Figure = dict[str, Any]

FONT = {"family": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}
GRID = "#e2e8f0"
INK = "#334155"
BLUE = "#2563eb"
GREEN = "#059669"
RED = "#b91c1c"
AMBER = "#d97706"


def _layout(**overrides: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "font": {**FONT, "color": INK},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "margin": {"l": 56, "r": 56, "t": 16, "b": 48},
        "height": 300,
        "hovermode": "x unified",
        "legend": {
            "orientation": "h",
            "y": 1.02,
            "yanchor": "bottom",
            "x": 0,
            "font": {"size": 11},
        },
        "xaxis": {"gridcolor": GRID, "linecolor": GRID, "zeroline": False, "automargin": True},
        "yaxis": {"gridcolor": GRID, "linecolor": GRID, "zeroline": False},
    }
    layout.update(overrides)
    return layout


def iteration_chart(revisions: Sequence[RevisionIteration]) -> Figure:
    """Per revision: share of specs met, open findings and mean feedback rating."""
    codes = [f"Rev {r.code}" for r in revisions]
    # Whole-number ticks for a handful of findings; Plotly picks the step for larger counts.
    findings_step = 1 if max((r.open_findings for r in revisions), default=0) <= 8 else None
    return {
        "data": [
            {
                "type": "bar",
                "name": "Specs met on latest build",
                "x": codes,
                "y": [r.specs.share if r.specs else None for r in revisions],
                "marker": {"color": GREEN},
                "hovertemplate": "%{y:.0%}<extra>Specs met</extra>",
                "offsetgroup": "specs",
            },
            {
                "type": "bar",
                "name": "Open findings",
                "x": codes,
                "y": [r.open_findings for r in revisions],
                "yaxis": "y2",
                "marker": {"color": RED, "opacity": 0.75},
                "hovertemplate": "%{y}<extra>Open findings</extra>",
                "offsetgroup": "findings",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "Mean feedback rating (1–5)",
                "x": codes,
                "y": [r.feedback.mean_rating for r in revisions],
                "yaxis": "y3",
                "line": {"color": BLUE, "width": 3},
                "marker": {"size": 9},
                "connectgaps": True,
                "hovertemplate": "%{y:.2f}<extra>Mean rating</extra>",
            },
        ],
        "layout": _layout(
            barmode="group",
            xaxis={"domain": [0, 0.86], "type": "category", "linecolor": GRID, "automargin": True},
            yaxis={
                "title": {"text": "Specs met", "font": {"color": GREEN}},
                "tickformat": ".0%",
                "range": [0, 1.05],
                "gridcolor": GRID,
                "zeroline": False,
            },
            yaxis2={
                "title": {"text": "Open findings", "font": {"color": RED}},
                "tickfont": {"color": RED},
                "overlaying": "y",
                "side": "right",
                "anchor": "x",
                "rangemode": "tozero",
                "dtick": findings_step,
                "showgrid": False,
                "zeroline": False,
            },
            yaxis3={
                "overlaying": "y",
                "side": "right",
                "anchor": "free",
                "position": 0.95,
                "range": [0, 5.2],
                "dtick": 1,
                "showgrid": False,
                "zeroline": False,
                "title": {"text": "Mean rating", "font": {"color": BLUE}},
                "tickfont": {"color": BLUE},
            },
            margin={"l": 56, "r": 40, "t": 36, "b": 40},
        ),
    }


def unit_status_chart(by_status: Iterable[Count[UnitStatus]]) -> Figure:
    """Units of a build by status, as horizontal bars in the status colours."""
    shown = [c for c in by_status if c.count]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [c.value.label for c in shown],
                "x": [c.count for c in shown],
                "text": [f"{c.count:,}" for c in shown],
                "textposition": "outside",
                "cliponaxis": False,
                "marker": {"color": [UNIT_STATUS_COLOURS[c.value] for c in shown]},
                "hovertemplate": "%{y}: %{x:,}<extra></extra>",
            }
        ],
        "layout": _layout(
            height=max(160, 44 * len(shown) + 60),
            hovermode="closest",
            margin={"l": 96, "r": 48, "t": 8, "b": 36},
            yaxis={"autorange": "reversed", "gridcolor": GRID, "zeroline": False},
            xaxis={"title": {"text": "Units"}, "gridcolor": GRID, "zeroline": False},
            showlegend=False,
        ),
    }


def station_yield_chart(stations: Sequence[StationStat]) -> Figure:
    """First-pass yield per station in line order, with its confidence interval."""
    names = [s.name for s in stations]
    yields = [s.fpy for s in stations]
    values = [y.yield_frac if y else None for y in yields]
    interval = next((fmt_interval_title(y.ci) for y in yields if y), "")
    return {
        "data": [
            {
                "type": "bar",
                "x": names,
                "y": values,
                "marker": {"color": GREEN},
                "texttemplate": "%{y:.1%}",
                "textposition": "inside",
                "insidetextanchor": "start",
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [y.ci.high - y.yield_frac if y else None for y in yields],
                    "arrayminus": [y.yield_frac - y.ci.low if y else None for y in yields],
                    "color": INK,
                    "thickness": 1.5,
                    "width": 6,
                },
                "customdata": [
                    [s.first_pass_ok, s.first_attempts, y.ci.low, y.ci.high] if y else None
                    for s, y in zip(stations, yields, strict=True)
                ],
                "hovertemplate": (
                    "%{x}: %{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,})<br>"
                    f"{interval} %{{customdata[2]:.1%}} to %{{customdata[3]:.1%}}"
                    "<extra></extra>"
                ),
                "name": "First-pass yield",
            }
        ],
        "layout": _layout(
            hovermode="closest",
            yaxis={
                "title": {"text": "First-pass yield"},
                "tickformat": ".0%",
                "range": [0, 1.02],
                "gridcolor": GRID,
                "zeroline": False,
            },
            xaxis={"type": "category", "linecolor": GRID, "automargin": True},
            margin={"l": 56, "r": 16, "t": 16, "b": 40},
            showlegend=False,
        ),
    }
