"""``--plot FILE.html|.png``: the analysis reports drawn with Plotly.

The figures are built from the reports' JSON documents and compute nothing. HTML is written by
Plotly; PNG is a screenshot of that HTML taken by a locally installed headless Chromium.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from phasegate.cli.output import err_console
from phasegate.domain.errors import invalid
from phasegate.services.analysis import chart_kind

SUFFIXES = frozenset({".html", ".htm", ".png"})
_LIMIT_COLOR = "#d62728"


def check_plot(plot: Path | None) -> None:
    """Refuse a plot file the commands cannot write, before any work is done."""
    if plot is not None and plot.suffix.lower() not in SUFFIXES:
        raise invalid("--plot", f"{plot} must end in .html or .png")


# -------------------------------------------------------------------------------------------
# spc


def spc_figure(doc: dict[str, Any]) -> Any:
    """The chart and its dispersion chart, one above the other, with limits, zones and signals."""
    from plotly.subplots import make_subplots

    kind = chart_kind(doc["chart"])
    charts = [doc] + ([doc["secondary"]] if doc["secondary"] else [])
    titles = [kind.title, kind.secondary_title]
    fig = make_subplots(
        rows=len(charts),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[titles[i] or f"{part['chart']} chart" for i, part in enumerate(charts)],
    )
    for row, part in enumerate(charts, start=1):
        _draw_chart(fig, row, part, zones=kind.run_rules)
    fig.update_layout(
        title=f"{doc['chart']} chart of {doc['value_column']} ({doc['source']})",
        template="plotly_white",
        height=360 * len(charts),
        width=1100,
    )
    return fig


def _draw_chart(fig: Any, row: int, part: dict[str, Any], *, zones: bool) -> None:
    import plotly.graph_objects as go

    pts = part["points"]
    x = [str(p["subgroup"]) for p in pts]
    center = [p["center"] for p in pts]
    ucl = [p["ucl"] for p in pts]
    if zones:
        _draw_zones(fig, row, x, center, ucl)
    for name, ys in (("UCL", ucl), ("LCL", [p["lcl"] for p in pts])):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=ys,
                mode="lines",
                name="UCL / LCL" if name == "UCL" else name,
                showlegend=row == 1 and name == "UCL",
                line={"color": _LIMIT_COLOR, "shape": "hvh"},
            ),
            row=row,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=center,
            mode="lines",
            name="centre",
            showlegend=row == 1,
            line={"color": "#2ca02c", "shape": "hvh"},
        ),
        row=row,
        col=1,
    )
    _mark_phase2(fig, row, pts)
    cusum = bool(pts) and "upper" in pts[0]
    if cusum:
        series = [("C+", [p["upper"] for p in pts]), ("C-", [p["lower"] for p in pts])]
    else:
        series = [(part["chart"], [p["value"] for p in pts])]
    for name, ys in series:
        fig.add_trace(
            go.Scatter(x=x, y=ys, mode="lines+markers", name=name, line={"color": "#1f77b4"}),
            row=row,
            col=1,
        )
    if cusum:  # mark the sum that crossed its limit
        marked = [p["upper"] if p["upper"] > -p["lower"] else p["lower"] for p in pts]
    else:
        marked = series[0][1]
    _mark_signals(fig, row, x, marked, pts)


def _draw_zones(fig: Any, row: int, x: list[str], center: list[Any], ucl: list[Any]) -> None:
    """The ±1σ and ±2σ zone lines of the run rules."""
    import plotly.graph_objects as go

    for k, dash in ((1, "dot"), (2, "dash")):
        for sign in (1, -1):
            zone = [
                None if c is None or u is None else c + sign * k * (u - c) / 3
                for c, u in zip(center, ucl, strict=True)
            ]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=zone,
                    mode="lines",
                    line={"color": "#bbbbbb", "dash": dash, "width": 1, "shape": "hvh"},
                    name=f"±{k}σ",
                    showlegend=False,
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )


def _mark_phase2(fig: Any, row: int, pts: list[dict[str, Any]]) -> None:
    """A vertical line where the points judged against frozen limits begin."""
    phase2 = [i for i, p in enumerate(pts) if p.get("phase") == 2]
    if phase2 and phase2[0] > 0:
        fig.add_vline(
            x=phase2[0] - 0.5,
            line={"color": "#555555", "dash": "dot", "width": 1},
            annotation_text="phase II →",
            annotation_position="top right",
            annotation_font_size=11,
            row=row,
            col=1,
        )


def _mark_signals(
    fig: Any, row: int, x: list[str], ys: list[Any], pts: list[dict[str, Any]]
) -> None:
    """Open red circles on the points that break a rule, with the rule numbers on hover."""
    import plotly.graph_objects as go

    flagged = [i for i, p in enumerate(pts) if p["violations"]]
    if not flagged:
        return
    fig.add_trace(
        go.Scatter(
            x=[x[i] for i in flagged],
            y=[ys[i] for i in flagged],
            mode="markers",
            name="signal",
            marker={
                "color": _LIMIT_COLOR,
                "size": 10,
                "symbol": "circle-open",
                "line": {"width": 2},
            },
            text=[f"rules {pts[i]['violations']}" for i in flagged],
        ),
        row=row,
        col=1,
    )


# -------------------------------------------------------------------------------------------
# capability and gage


def capability_figure(doc: dict[str, Any]) -> Any:
    """Histogram of the data as a density, the normal curve and the specification limits."""
    import numpy as np
    import plotly.graph_objects as go

    fig = go.Figure()
    edges, counts = doc["histogram"]["edges"], doc["histogram"]["counts"]
    width = edges[1] - edges[0] if len(edges) > 1 else 1.0
    total = sum(counts) or 1
    fig.add_bar(
        x=[(a + b) / 2 for a, b in itertools.pairwise(edges)],
        y=[c / (total * width) for c in counts],
        width=width,
        name="data (density)",
        marker_color="#9ecae1",
    )
    mean, sd = doc["mean"], doc["sigma_overall"]
    if doc["method"] == "normal" and sd:
        xs = np.linspace(mean - 4 * sd, mean + 4 * sd, 200)
        pdf = np.exp(-0.5 * ((xs - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
        fig.add_trace(go.Scatter(x=xs, y=pdf, mode="lines", name="normal (overall sigma)"))
    for name in ("lsl", "usl", "target"):
        if doc[name] is not None:
            fig.add_vline(x=doc[name], line_dash="dash", annotation_text=name.upper())
    fig.update_layout(
        title=f"Capability of {doc['value_column']} ({doc['method']}): "
        f"Cpk = {_fmt(doc['cpk'])}, Ppk = {_fmt(doc['ppk'])}",
        template="plotly_white",
        width=1000,
        height=500,
        xaxis_title=doc["value_column"],
    )
    return fig


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def gage_figure(doc: dict[str, Any]) -> Any:
    """The variance components as % contribution, % study variation and % tolerance."""
    import plotly.graph_objects as go

    rows = [r for r in doc["components"] if r["source"] != "total"]
    names = [r["source"] for r in rows]
    fig = go.Figure()
    fig.add_bar(x=names, y=[r["pct_contribution"] for r in rows], name="% contribution")
    fig.add_bar(x=names, y=[r["pct_study_var"] for r in rows], name="% study variation")
    if doc["tolerance"] is not None:
        fig.add_bar(x=names, y=[r["pct_tolerance"] for r in rows], name="% tolerance")
    fig.update_layout(
        title=f"Gage R&R components (ndc = {doc['ndc']})",
        barmode="group",
        template="plotly_white",
        width=1000,
        height=500,
    )
    return fig


# -------------------------------------------------------------------------------------------
# files


def write_figure(fig: Any, path: Path) -> None:
    """Write the figure as standalone HTML, or as PNG rendered by a local headless Chromium."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in {".html", ".htm"}:
        fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    else:
        _write_png(fig, path)
    err_console.print(f"plot written to {path}", markup=False, highlight=False, soft_wrap=True)


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _write_png(fig: Any, path: Path) -> None:
    browser = _browser()
    if browser is None:
        raise invalid(
            "--plot",
            "PNG output needs Chromium installed (e.g. apt install chromium); "
            "use --plot FILE.html instead",
        )
    width = int(fig.layout.width or 1100)
    height = int(fig.layout.height or 500)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "chart.html"
        fig.write_html(
            str(page),
            include_plotlyjs=True,
            full_html=True,
            config={"staticPlot": True, "displayModeBar": False},
        )
        out = Path(tmp) / "chart.png"
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp}/profile",
            f"--window-size={width + 40},{height + 40}",
            "--virtual-time-budget=5000",
            f"--screenshot={out}",
            page.as_uri(),
        ]
        try:
            subprocess.run(command, check=False, capture_output=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise invalid("--plot", f"Chromium could not render the PNG ({error})") from None
        if not out.is_file():
            raise invalid("--plot", "Chromium did not produce a PNG; use --plot FILE.html")
        shutil.copyfile(out, path)
