"""``phasegate spc``, ``capability`` and ``gage``: the standalone analysis of a CSV file.

No database is needed. The commands parse options, call :mod:`phasegate.services.analysis` and
render the report; ``--plot FILE.html|.png`` draws the chart with Plotly.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import typer

from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, console, emit_record, emit_rows, err_console
from phasegate.domain.errors import invalid
from phasegate.services import analysis

FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format: table, json or csv.")
PLOT = typer.Option(
    None, "--plot", help="Also draw the chart to FILE.html (interactive) or FILE.png."
)
FILE = typer.Argument(..., help="CSV file (header row; delimiter , ; tab or | detected).")


def _notes(notes: list[str]) -> None:
    for note in notes:
        err_console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)


def _check_plot(plot: Path | None) -> None:
    if plot is not None and plot.suffix.lower() not in {".html", ".htm", ".png"}:
        raise invalid("--plot", f"{plot} must end in .html or .png")


# -------------------------------------------------------------------------------------------
# spc


@app.command(
    "spc",
    help=(
        "Control chart of a CSV column with run rules: X̄-R, X̄-S, I-MR, p, np, c, u, EWMA or "
        "CUSUM; phase I limits from the first K subgroups or a date range."
    ),
)
def spc(
    file: Path = FILE,
    value: str = typer.Option(..., "--value", help="Column with the measurement (or count)."),
    chart: str = typer.Option(
        ..., "--chart", help="xbar-r, xbar-s, imr, p, np, c, u, ewma or cusum."
    ),
    subgroup: str | None = typer.Option(
        None, "--subgroup", help="Column naming each row's subgroup (rows with equal labels)."
    ),
    subgroup_size: int | None = typer.Option(
        None, "--subgroup-size", help="Consecutive rows form subgroups of N."
    ),
    size: str | None = typer.Option(
        None, "--size", help="Sample-size column, for p, np and u charts."
    ),
    phase1: int | None = typer.Option(
        None, "--phase1", help="Limits from the first K subgroups; the rest judged against them."
    ),
    time: str | None = typer.Option(
        None, "--time", help="Time column (ISO 8601), for --phase1-start/--phase1-end."
    ),
    phase1_start: str | None = typer.Option(
        None, "--phase1-start", help="Reference period start (subgroups by their first row)."
    ),
    phase1_end: str | None = typer.Option(None, "--phase1-end", help="Reference period end."),
    exclude: bool = typer.Option(
        False,
        "--exclude-out-of-control",
        help="Drop reference subgroups beyond the limits and recompute (reported).",
    ),
    rules: str = typer.Option(
        "nelson", "--rules", help="nelson, we (Western Electric), none, or numbers like 1,2,5."
    ),
    lam: float = typer.Option(0.2, "--lambda", help="EWMA weight of the newest point."),
    nsigmas: float = typer.Option(3.0, "--nsigmas", help="EWMA limit width in standard errors."),
    h: float = typer.Option(5.0, "--h", help="CUSUM decision interval (standard errors)."),
    k: float = typer.Option(0.5, "--k", help="CUSUM reference value (standard errors)."),
    target: float | None = typer.Option(
        None, "--target", help="Known process mean (default: estimated from phase I)."
    ),
    sigma: float | None = typer.Option(
        None, "--sigma", help="Known process sigma (default: estimated from phase I)."
    ),
    fmt: OutputFormat = FORMAT,
    plot: Path | None = PLOT,
) -> None:
    _check_plot(plot)
    report = analysis.analyse_spc(
        file, value=value, chart=chart, subgroup=subgroup, subgroup_size=subgroup_size,
        size=size, phase1=phase1, time=time, phase1_start=phase1_start, phase1_end=phase1_end,
        exclude_out_of_control=exclude, rules=rules, lam=lam, nsigmas=nsigmas, k=k, h=h,
        target=target, sigma=sigma,
    )  # fmt: skip
    doc = report.as_dict()
    _notes(doc["notes"])
    if fmt is OutputFormat.JSON:
        emit_record(doc, fmt)
    elif fmt is OutputFormat.CSV:
        emit_rows(_spc_rows(doc), fmt, columns=_SPC_COLUMNS)
    else:
        _spc_table(doc)
    if plot is not None:
        _write_figure(_spc_figure(doc), plot)


_SPC_COLUMNS = ["chart", "subgroup", "value", "center", "lcl", "ucl", "size", "phase", "violations"]


def _spc_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for part in (doc, doc["secondary"]):
        if part is None:
            continue
        for p in part["points"]:
            rows.append({"chart": part["chart"], **p})
    return rows


def _spc_table(doc: dict[str, Any]) -> None:
    charts = [doc] + ([doc["secondary"]] if doc["secondary"] else [])
    for part in charts:
        emit_record(
            {
                "chart": part["chart"],
                "points": len(part["points"]),
                "center": part["center"],
                "lcl": part["lcl"],
                "ucl": part["ucl"],
                "sigma": part["sigma"],
                "limits vary": part["limits_vary"],
                "rules": f"{part['rules']} {','.join(map(str, part['rules_checked']))}",
                "points with signals": part["signals"],
            },
            OutputFormat.TABLE,
            title=f"{part['chart']} chart",
        )
    console.print(
        f"limits from {doc['reference_subgroups']} reference subgroups"
        + (f" (first {doc['phase1']})" if doc["phase1"] else "")
        + (f"; excluded as out of control: {doc['excluded']}" if doc["excluded"] else "")
    )
    flagged = [
        {"chart": part["chart"], **p} for part in charts for p in part["points"] if p["violations"]
    ]
    if flagged:
        emit_rows(
            flagged[:200],
            OutputFormat.TABLE,
            columns=["chart", "subgroup", "value", "lcl", "ucl", "phase", "violations"],
            title="Signals (rule numbers)" + (" - first 200" if len(flagged) > 200 else ""),
        )
    else:
        console.print("no rule violations")


# -------------------------------------------------------------------------------------------
# capability


@app.command(
    "capability",
    help=(
        "Process capability of a CSV column: Cp, Cpk, Cpm, Pp, Ppk with confidence intervals, "
        "expected and observed ppm, and an Anderson-Darling normality check."
    ),
)
def capability(
    file: Path = FILE,
    value: str = typer.Option(..., "--value", help="Column with the measurement."),
    subgroup: str | None = typer.Option(None, "--subgroup", help="Subgroup label column."),
    subgroup_size: int | None = typer.Option(
        None, "--subgroup-size", help="Consecutive rows form subgroups of N."
    ),
    lsl: float | None = typer.Option(None, "--lsl", help="Lower specification limit."),
    usl: float | None = typer.Option(None, "--usl", help="Upper specification limit."),
    target: float | None = typer.Option(
        None, "--target", help="Target for Cpm (default: the middle of the specification)."
    ),
    confidence: float = typer.Option(
        0.95, "--confidence", help="Level of the intervals and the one-sided lower bounds."
    ),
    sigma_within: str | None = typer.Option(
        None,
        "--sigma-within",
        help="rbar (default for subgroups), sbar, pooled, or mr (individuals).",
    ),
    method: str = typer.Option(
        "normal", "--method", help="normal, box-cox, or percentile (ISO 22514-2)."
    ),
    fmt: OutputFormat = FORMAT,
    plot: Path | None = PLOT,
) -> None:
    _check_plot(plot)
    report = analysis.analyse_capability(
        file, value=value, lsl=lsl, usl=usl, subgroup=subgroup, subgroup_size=subgroup_size,
        target=target, confidence=confidence, sigma_within=sigma_within, method=method,
    )  # fmt: skip
    doc = report.as_dict()
    _notes(doc["notes"])
    for warning in doc["warnings"]:
        err_console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    if fmt is OutputFormat.JSON:
        emit_record(doc, fmt)
    elif fmt is OutputFormat.CSV:
        emit_rows([_flat_capability(doc)], fmt)
    else:
        _capability_table(doc)
    if plot is not None:
        _write_figure(_capability_figure(doc), plot)


_INDICES = ("cp", "cpl", "cpu", "cpk", "cpm", "pp", "ppl", "ppu", "ppk")


def _flat_capability(doc: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {
        k: doc[k] for k in ("n", "subgroups", "mean", "sigma_within", "sigma_overall", "lsl", "usl")
    }
    for name in _INDICES:
        flat[name] = doc[name]
        flat[f"{name}_ci_low"], flat[f"{name}_ci_high"] = doc["ci"][name]
        flat[f"{name}_lower_bound"] = doc["lower_bounds"][name]
    flat.update({f"ppm_{k}": v for k, v in doc["ppm"].items()})
    normality = doc["normality"] or {}
    flat["normality_p_value"] = normality.get("p_value")
    flat.update({k: doc[k] for k in ("confidence", "method", "sigma_method", "missing_rows")})
    return flat


def _capability_table(doc: dict[str, Any]) -> None:
    normality = doc["normality"]
    emit_record(
        {
            "values": doc["n"],
            "subgroups": doc["subgroups"],
            "mean": doc["mean"],
            "sigma within": f"{doc['sigma_within']:.6g} ({doc['sigma_method']})"
            if doc["sigma_within"] is not None
            else None,
            "sigma overall": doc["sigma_overall"],
            "method": doc["method"],
            "normality (AD p)": None if normality is None else normality["p_value"],
        },
        OutputFormat.TABLE,
        title="Capability",
    )
    conf = f"{doc['confidence']:.0%}"
    rows = [
        {
            "index": name,
            "value": doc[name],
            f"{conf} CI low": doc["ci"][name][0],
            f"{conf} CI high": doc["ci"][name][1],
            f"{conf} lower bound": doc["lower_bounds"][name],
        }
        for name in _INDICES
        if doc[name] is not None
    ]
    emit_rows(rows, OutputFormat.TABLE, title="Indices")
    emit_rows(
        [{"": k.replace("_", " "), "ppm": v} for k, v in doc["ppm"].items() if v is not None],
        OutputFormat.TABLE,
        title="Parts per million out of specification",
    )


# -------------------------------------------------------------------------------------------
# gage


@app.command(
    "gage",
    help=(
        "Crossed gage R&R (ANOVA method, AIAG MSA 4th ed.) from a CSV file with one row per "
        "reading: repeatability, reproducibility, %GRR, %tolerance, ndc."
    ),
)
def gage(
    file: Path = FILE,
    part: str = typer.Option(..., "--part", help="Part column."),
    operator: str = typer.Option(..., "--operator", help="Operator (appraiser) column."),
    value: str = typer.Option(..., "--value", help="Measurement column."),
    tolerance: float | None = typer.Option(None, "--tolerance", help="USL - LSL, for %tolerance."),
    alpha_interaction: float = typer.Option(
        0.25, "--alpha-interaction", help="Pool the interaction when its p-value is above this."
    ),
    study_multiplier: float = typer.Option(
        6.0, "--study-multiplier", help="Sigmas in the study variation (6; older AIAG: 5.15)."
    ),
    fmt: OutputFormat = FORMAT,
    plot: Path | None = PLOT,
) -> None:
    _check_plot(plot)
    report = analysis.analyse_gage(
        file, part=part, operator=operator, value=value, tolerance=tolerance,
        alpha_interaction=alpha_interaction, study_multiplier=study_multiplier,
    )  # fmt: skip
    doc = report.as_dict()
    _notes(doc["notes"])
    if fmt is OutputFormat.JSON:
        emit_record(doc, fmt)
    elif fmt is OutputFormat.CSV:
        emit_rows(doc["components"], fmt)
    else:
        emit_record(
            {
                "design": f"{doc['parts']} parts x {doc['operators']} operators x "
                f"{doc['replicates']} trials",
                "interaction": ("pooled" if doc["interaction_pooled"] else "kept")
                + f" (p = {doc['interaction_p']:.4g})"
                if doc["interaction_p"] is not None
                else "none",
                "%GRR of study variation": doc["pct_grr_study_var"],
                "%GRR of tolerance": doc["pct_grr_tolerance"],
                "distinct categories (ndc)": doc["ndc"],
            },
            OutputFormat.TABLE,
            title="Gage R&R (ANOVA)",
        )
        emit_rows(doc["anova"], OutputFormat.TABLE, title="ANOVA with interaction")
        if doc["anova_reduced"]:
            emit_rows(doc["anova_reduced"], OutputFormat.TABLE, title="ANOVA, interaction pooled")
        emit_rows(doc["components"], OutputFormat.TABLE, title="Variance components")
    if plot is not None:
        _write_figure(_gage_figure(doc), plot)


# -------------------------------------------------------------------------------------------
# plots


CHART_TITLES = {
    "xbar-r": "X̄ chart (limits from R̄)",
    "xbar-s": "X̄ chart (limits from S̄)",
    "r": "R chart",
    "s": "S chart",
    "imr": "Individuals chart",
    "mr": "Moving-range chart",
    "p": "p chart (fraction nonconforming)",
    "np": "np chart (number nonconforming)",
    "c": "c chart (nonconformities)",
    "u": "u chart (nonconformities per unit)",
    "ewma": "EWMA chart",
    "cusum": "Tabular CUSUM (standardised)",
}


def _spc_figure(doc: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    charts = [doc] + ([doc["secondary"]] if doc["secondary"] else [])
    fig = make_subplots(
        rows=len(charts),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=[CHART_TITLES.get(c["chart"], f"{c['chart']} chart") for c in charts],
    )
    for row, part in enumerate(charts, start=1):
        pts = part["points"]
        x = [str(p["subgroup"]) for p in pts]
        center = [p["center"] for p in pts]
        ucl = [p["ucl"] for p in pts]
        lcl = [p["lcl"] for p in pts]
        if part["chart"] not in {"ewma", "cusum"}:
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
        for name, ys, color in (("UCL", ucl, "#d62728"), ("LCL", lcl, "#d62728")):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=ys,
                    mode="lines",
                    name="UCL / LCL" if name == "UCL" else name,
                    showlegend=row == 1 and name == "UCL",
                    line={"color": color, "shape": "hvh"},
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
        if part["chart"] == "cusum":
            series = [("C+", [p["upper"] for p in pts]), ("C-", [p["lower"] for p in pts])]
        else:
            series = [(part["chart"], [p["value"] for p in pts])]
        for name, ys in series:
            fig.add_trace(
                go.Scatter(x=x, y=ys, mode="lines+markers", name=name, line={"color": "#1f77b4"}),
                row=row,
                col=1,
            )
        flagged = [i for i, p in enumerate(pts) if p["violations"]]
        if flagged:
            ys = (
                series[0][1]
                if part["chart"] != "cusum"
                else [
                    pts[i]["upper"] if pts[i]["upper"] > -pts[i]["lower"] else pts[i]["lower"]
                    for i in range(len(pts))
                ]
            )
            fig.add_trace(
                go.Scatter(
                    x=[x[i] for i in flagged],
                    y=[ys[i] for i in flagged],
                    mode="markers",
                    name="signal",
                    marker={
                        "color": "#d62728",
                        "size": 10,
                        "symbol": "circle-open",
                        "line": {"width": 2},
                    },
                    text=[f"rules {pts[i]['violations']}" for i in flagged],
                ),
                row=row,
                col=1,
            )
    fig.update_layout(
        title=f"{doc['chart']} chart of {doc['value_column']} ({doc['source']})",
        template="plotly_white",
        height=360 * len(charts),
        width=1100,
    )
    return fig


def _capability_figure(doc: dict[str, Any]) -> Any:
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


def _gage_figure(doc: dict[str, Any]) -> Any:
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


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _write_figure(fig: Any, path: Path) -> None:
    """Write the figure as standalone HTML, or as PNG rendered by a local headless Chromium."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in {".html", ".htm"}:
        fig.write_html(str(path), include_plotlyjs=True, full_html=True)
        err_console.print(f"plot written to {path}", markup=False, highlight=False, soft_wrap=True)
        return
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
    err_console.print(f"plot written to {path}", markup=False, highlight=False, soft_wrap=True)
