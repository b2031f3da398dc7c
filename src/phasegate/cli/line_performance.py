"""``phasegate line-performance BUILD``: cycle times, bottleneck, takt and flow of a build."""

from __future__ import annotations

from typing import Any

import typer

from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, console, emit_rows, write_json

# One row per station: the columns of --format csv and of the table.
COLUMNS = (
    "station",
    "servers",
    "n",
    "mean_s",
    "median_s",
    "p90_s",
    "cv",
    "effective_cycle_s",
    "bottleneck",
    "trend_s_per_unit",
    "trend_ci_low",
    "trend_ci_high",
    "fpy",
    "fpy_ci_low",
    "fpy_ci_high",
    "mean_wait_s",
    "reworked_units",
    "visited_units",
    "extra_passes",
    "loops_back",
)
TABLE_COLUMNS = (
    "station",
    "servers",
    "n",
    "mean_s",
    "median_s",
    "p90_s",
    "cv",
    "effective_s",
    "bottleneck",
    "trend",
    "fpy",
    "wait_s",
    "rework",
)
HEADERS = {
    "trend": "trend s/unit [95 % CI]",
    "fpy": "FPY [95 % CI]",
    "wait_s": "mean wait s",
    "rework": "reworked / units",
}


@app.command(
    "line-performance",
    help=(
        "A build's line performance: cycle times per station, bottleneck, takt time, balance "
        "efficiency, throughput, WIP and flow time, waiting and rework."
    ),
)
def line_performance(
    build: str = typer.Argument(..., help="Build code (any case)."),
    product: str | None = typer.Option(
        None, "--product", help="Product key, when several products have a build with this code."
    ),
    fmt: OutputFormat = typer.Option(
        OutputFormat.TABLE, "--format", help="Output format: table, json or csv."
    ),
) -> None:
    from phasegate.cli import context
    from phasegate.services.read.line_performance import build_line_performance, find_build_id

    uow, actor = context.session()
    build_id = find_build_id(uow, build, actor=actor, product=product)
    document = build_line_performance(uow, build_id, actor=actor).document()
    if fmt is OutputFormat.JSON:
        write_json(document)
        return
    rows = [_row(s) for s in document["detail"]["stations"]]
    if fmt is OutputFormat.CSV:
        emit_rows(rows, fmt, columns=COLUMNS)
        return
    for label, value in _summary(document):
        console.print(f"[bold]{label}:[/bold] {value}")
    title = f"Stations of build {document['build']} ({document['product']})"
    shown = [_for_a_person(r) for r in rows]
    emit_rows(shown, fmt, columns=TABLE_COLUMNS, title=title, headers=HEADERS)


def _row(station: dict[str, Any]) -> dict[str, Any]:
    """One station's detail as a flat row."""
    trend, fpy = station["trend"] or {}, station["fpy"] or {}
    trend_ci, fpy_ci = trend.get("ci") or [None, None], fpy.get("ci") or [None, None]
    rework = station["rework"]
    return {
        "station": station["name"],
        "servers": station["servers"],
        "n": station["n"],
        "mean_s": station["mean_s"],
        "median_s": station["median_s"],
        "p90_s": station["p90_s"],
        "cv": station["cv"],
        "effective_cycle_s": station["effective_cycle_s"],
        "bottleneck": station["bottleneck"],
        "trend_s_per_unit": trend.get("slope_s_per_unit"),
        "trend_ci_low": trend_ci[0],
        "trend_ci_high": trend_ci[1],
        "fpy": fpy.get("value"),
        "fpy_ci_low": fpy_ci[0],
        "fpy_ci_high": fpy_ci[1],
        "mean_wait_s": station["waiting"]["mean_s"],
        "reworked_units": rework["reworked_units"],
        "visited_units": rework["visited_units"],
        "extra_passes": rework["extra_passes"],
        "loops_back": rework["loops_back"],
    }


def _for_a_person(row: dict[str, Any]) -> dict[str, Any]:
    """A station's row for the table: four significant digits, intervals in brackets, "n/a"
    for a value computed from too little data."""
    trend = ""
    if row["trend_s_per_unit"] is not None:
        trend = (
            f"{row['trend_s_per_unit']:.3g} [{row['trend_ci_low']:.3g}, {row['trend_ci_high']:.3g}]"
        )
    fpy = "n/a"
    if row["fpy"] is not None:
        fpy = f"{row['fpy']:.1%} [{row['fpy_ci_low']:.1%}, {row['fpy_ci_high']:.1%}]"
    return {
        "station": row["station"],
        "servers": row["servers"],
        "n": row["n"],
        "mean_s": _short(row["mean_s"]),
        "median_s": _short(row["median_s"]),
        "p90_s": _short(row["p90_s"]),
        "cv": _short(row["cv"], 3),
        "effective_s": _short(row["effective_cycle_s"]),
        "bottleneck": "◀ bottleneck" if row["bottleneck"] else "",
        "trend": trend,
        "fpy": fpy,
        "wait_s": _short(row["mean_wait_s"]),
        "rework": f"{row['reworked_units']} / {row['visited_units']}",
    }


def _short(value: Any, digits: int = 4) -> str:
    if isinstance(value, str):
        return "n/a"
    return _number(value, digits=digits)


def _number(value: Any, unit: str = "", digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}g}{unit}"


def _summary(document: dict[str, Any]) -> list[tuple[str, str]]:
    line, detail = document["line"], document["detail"]
    cal = detail["calendar"]
    demand = detail["annual_demand"]
    takt = "no target annual volume" if line["takt_s"] is None else _number(line["takt_s"], " s")
    meets = {True: "yes", False: "no", None: "—"}[detail["meets_takt"]]
    flow = detail["flow"] or {}
    return [
        ("Line", detail["line"] or "—"),
        (
            "Calendar",
            f"{cal['shifts_per_day']} × {cal['hours_per_shift']:g} h on {cal['days_per_year']} "
            f"days; demand {demand if demand is not None else '—'} a year",
        ),
        ("Takt time", takt),
        ("Bottleneck", f"{line['bottleneck'] or '—'} (within takt: {meets})"),
        ("Balance efficiency", _number(line["balance_efficiency"])),
        ("Throughput (bottleneck)", _number(line["throughput_per_hour"], " /h")),
        ("Throughput (observed)", _number(flow.get("throughput_per_hour"), " /h")),
        ("Mean WIP", _number(flow.get("mean_wip"), " units")),
        ("Mean flow time", _number(flow.get("mean_flow_s"), " s")),
    ]
