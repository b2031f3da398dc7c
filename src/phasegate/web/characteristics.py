"""Characteristic pages: the build's capability table (a fragment of the build page, and CSV),
one characteristic's control chart, capability, histogram and signals, and their CSV files.

The figures are built here from the service's results (``characteristic_detail``); nothing here
computes a statistic. Clicking a point of the control chart (or a signal's link) opens that
subgroup's units and test runs on the same page (``?subgroup=N#subgroup``).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from phasegate.services.read.characteristic import (
    CAPABILITY_COLUMNS,
    FLAT_COLUMNS,
    MAX_SUBGROUP_SIZE,
    POINT_COLUMNS,
    SIGNAL_COLUMNS,
    CharacteristicDetail,
    build_characteristics,
    characteristic_detail,
)
from phasegate.services.read.characteristic import thresholds as status_thresholds
from phasegate.stats.charts import ChartResult
from phasegate.web.auth import actor
from phasegate.web.charts import AMBER, BLUE, GREEN, GRID, RED, Figure, _layout
from phasegate.web.rendering import is_htmx, render
from phasegate.web.routes import (
    LAST_PAGE,
    PAGE_DEPENDENCIES,
    READ_TEST_DATA,
    BuildId,
    Digits,
    RecordId,
    page_uow,
)

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

SubgroupSize = Annotated[int | None, Digits, Query(ge=1, le=MAX_SUBGROUP_SIZE)]
Subgroup = Annotated[int | None, Digits, Query(ge=1, le=LAST_PAGE)]
SIGNALS_SHOWN = 25  # rows of the signal table; the CSV has every one
CSV_TABLES = ("points", "signals", "capability")
CHART_TITLES = {
    "xbar": "X̄ (subgroup mean)",
    "r": "R (subgroup range)",
    "i": "Individual value",
    "mr": "Moving range",
}


def _finite(values: Any) -> list[float | None]:
    """An array's values for a figure: NaN and infinities as None (JSON null)."""
    return [v if math.isfinite(v) else None for v in values.tolist()]


def _cell(value: Any) -> Any:
    """A CSV cell: lists joined with ", ", None and non-finite floats empty."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


def _csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], filename: str) -> Response:
    """``rows`` as a CSV download; list cells joined with ", ", None as an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename)
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


@router.get(
    "/builds/{build_id}/characteristics",
    name="build_characteristics",
    openapi_extra=READ_TEST_DATA,
)
def characteristics_table(
    request: Request, build_id: BuildId, subgroup_size: SubgroupSize = None
) -> Response:
    """The build's capability table: a fragment for HTMX, else a page of its own."""
    table = build_characteristics(
        page_uow(request), build_id, actor=actor(request), subgroup_size=subgroup_size
    )
    context = {"t": table, "thresholds": status_thresholds(), "nav": "portfolio"}
    if is_htmx(request):
        return render(request, "partials/characteristics_table.html", context)
    return render(request, "partials/characteristics_page.html", context)


@router.get(
    "/builds/{build_id}/characteristics.csv",
    name="build_characteristics_csv",
    openapi_extra=READ_TEST_DATA,
)
def characteristics_csv(
    request: Request, build_id: BuildId, subgroup_size: SubgroupSize = None
) -> Response:
    table = build_characteristics(
        page_uow(request), build_id, actor=actor(request), subgroup_size=subgroup_size
    )
    return _csv(table.flat_rows(), FLAT_COLUMNS, f"{table.build.code}-characteristics.csv")


@router.get(
    "/builds/{build_id}/characteristics/{characteristic_id}",
    name="characteristic",
    openapi_extra=READ_TEST_DATA,
)
def characteristic_page(
    request: Request,
    build_id: BuildId,
    characteristic_id: RecordId,
    subgroup: Subgroup = None,
    subgroup_size: SubgroupSize = None,
) -> Response:
    detail = characteristic_detail(
        page_uow(request),
        build_id,
        characteristic_id,
        actor=actor(request),
        subgroup_size=subgroup_size,
    )
    chosen = detail.subgroup(subgroup) if subgroup is not None else None
    base = f"/builds/{build_id}/characteristics/{characteristic_id}"
    query = "" if subgroup_size is None else f"subgroup_size={subgroup_size}&"
    return render(
        request,
        "characteristic.html",
        {
            "nav": "portfolio",
            "d": detail,
            "base": base,
            "drill": f"{base}?{query}subgroup=",
            "chosen": chosen,
            "signals_shown": detail.signals[:SIGNALS_SHOWN],
            "capability_rows": detail.capability_rows(),
            "chart": control_chart(detail),
            "histogram": histogram_chart(detail),
            "csv_query": query.rstrip("&"),
            "thresholds": status_thresholds(),
        },
    )


@router.get(
    "/builds/{build_id}/characteristics/{characteristic_id}/{table}.csv",
    name="characteristic_csv",
    openapi_extra=READ_TEST_DATA,
)
def characteristic_csv(
    request: Request,
    build_id: BuildId,
    characteristic_id: RecordId,
    table: Annotated[Literal["points", "signals", "capability"], Path()],
    subgroup_size: SubgroupSize = None,
) -> Response:
    """One table of the characteristic page as CSV: the chart's points with their units, the
    signals, or the capability indices."""
    detail = characteristic_detail(
        page_uow(request),
        build_id,
        characteristic_id,
        actor=actor(request),
        subgroup_size=subgroup_size,
    )
    rows, columns = {
        "points": (detail.point_rows(), POINT_COLUMNS),
        "signals": (detail.signal_rows(), SIGNAL_COLUMNS),
        "capability": (detail.capability_rows(), CAPABILITY_COLUMNS),
    }[table]
    return _csv(rows, columns, f"{detail.build.code}-{detail.spec.name}-{table}.csv")


# -------------------------------------------------------------------------------------------
# figures


def _limit_trace(
    x: list[int], y: Any, name: str, colour: str, axis: str, dash: str = "dash"
) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": y,
        "xaxis": f"x{axis}",
        "yaxis": f"y{axis}",
        "line": {"color": colour, "width": 1.5, "dash": dash, "shape": "hvh"},
        "hoverinfo": "skip",
        "showlegend": axis == "",
    }


def _chart_traces(c: ChartResult, axis: str, rules_text: list[str]) -> list[dict[str, Any]]:
    """The points, limits and signals of one chart on axes ``x{axis}``/``y{axis}``."""
    x = list(range(c.first_point + 1, c.first_point + c.count + 1))
    values = _finite(c.values)
    flagged = c.signals().tolist()
    signal_x = [xi for xi, f in zip(x, flagged, strict=True) if f]
    signal_y = [v for v, f in zip(values, flagged, strict=True) if f]
    signal_text = [t for t, f in zip(rules_text, flagged, strict=True) if f]
    title = CHART_TITLES.get(c.chart, c.chart)
    return [
        _limit_trace(x, _finite(c.ucl), "UCL / LCL", RED, axis),
        _limit_trace(x, _finite(c.lcl), "LCL", RED, axis) | {"showlegend": False},
        _limit_trace(x, _finite(c.center_line), "Centre", GREEN, axis, "solid"),
        {
            "type": "scattergl" if c.count > 2000 else "scatter",
            "mode": "lines+markers",
            "name": title,
            "x": x,
            "y": values,
            "customdata": x,
            "xaxis": f"x{axis}",
            "yaxis": f"y{axis}",
            "line": {"color": BLUE, "width": 1},
            "marker": {"color": BLUE, "size": 5},
            "hovertemplate": f"Subgroup %{{x}}: %{{y:.6g}}<extra>{title}</extra>",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "Signal (Nelson rule broken)",
            "x": signal_x,
            "y": signal_y,
            "customdata": signal_x,
            "text": signal_text,
            "xaxis": f"x{axis}",
            "yaxis": f"y{axis}",
            "marker": {"color": RED, "size": 10, "symbol": "circle-open", "line": {"width": 2.5}},
            "hovertemplate": "Subgroup %{x}: %{y:.6g}<br>%{text}<extra>Signal</extra>",
            "showlegend": axis == "" and bool(signal_x),
        },
    ]


def control_chart(detail: CharacteristicDetail) -> Figure | None:
    """The location chart above its dispersion chart, signals circled in red; each point's
    ``customdata`` is its subgroup number, for the click that opens its units."""
    if detail.chart is None:
        return None
    res = detail.chart.result
    charts = [res.primary] if res.secondary is None else [res.primary, res.secondary]
    data: list[dict[str, Any]] = []
    for i, c in enumerate(charts):
        rules = [
            "rules " + ", ".join(str(r) for r in c.violations.at(p)) if flag else ""
            for p, flag in enumerate(c.signals().tolist())
        ]
        data.extend(_chart_traces(c, "" if i == 0 else "2", rules))
    axis_x = {"gridcolor": GRID, "linecolor": GRID, "zeroline": False, "automargin": True}
    two = len(charts) == 2
    layout = _layout(
        height=460 if two else 300,
        hovermode="closest",
        margin={"l": 64, "r": 24, "t": 24, "b": 48},
        xaxis={**axis_x, "anchor": "y", "matches": "x2" if two else None},
        yaxis={
            "domain": [0.42, 1.0] if two else [0, 1],
            "title": {"text": CHART_TITLES.get(res.primary.chart)},
            "gridcolor": GRID,
            "zeroline": False,
        },
    )
    if two:
        assert res.secondary is not None
        layout["xaxis2"] = {**axis_x, "anchor": "y2", "title": {"text": "Subgroup"}}
        layout["yaxis2"] = {
            "domain": [0, 0.3],
            "title": {"text": CHART_TITLES.get(res.secondary.chart)},
            "gridcolor": GRID,
            "zeroline": False,
            "rangemode": "tozero",
        }
    return {"data": data, "layout": layout}


def histogram_chart(detail: CharacteristicDetail) -> Figure | None:
    """The values' histogram with the specification limits and the target as lines."""
    edges, counts = detail.histogram_edges, detail.histogram_counts
    if not counts:
        return None
    s = detail.spec
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    widths = [b - a for a, b in itertools.pairwise(edges)]
    shapes, notes = [], []
    for label, value, colour in (
        ("LSL", s.lsl, RED),
        ("USL", s.usl, RED),
        ("Target", s.target, AMBER),
    ):
        if value is None:
            continue
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": value,
                "x1": value,
                "y0": 0,
                "y1": 1,
                "line": {"color": colour, "width": 2, "dash": "dash"},
            }
        )
        notes.append(
            {
                "x": value,
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "yanchor": "bottom",
                "text": f"{label} {value:g}",
                "showarrow": False,
                "font": {"color": colour},
            }
        )
    return {
        "data": [
            {
                "type": "bar",
                "x": centres,
                "y": list(counts),
                "width": widths,
                "marker": {"color": BLUE, "opacity": 0.8, "line": {"color": "#fff", "width": 1}},
                "hovertemplate": "%{x:.6g}: %{y} values<extra></extra>",
                "name": "Values",
            }
        ],
        "layout": _layout(
            hovermode="closest",
            showlegend=False,
            shapes=shapes,
            annotations=notes,
            margin={"l": 56, "r": 24, "t": 32, "b": 48},
            xaxis={
                "title": {"text": s.unit or "value"},
                "gridcolor": GRID,
                "zeroline": False,
            },
            yaxis={"title": {"text": "Values"}, "gridcolor": GRID, "zeroline": False},
        ),
    }
