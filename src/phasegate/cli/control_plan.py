"""``phasegate control-plan ...``: a product's control plan, its items, gauges, gage studies and
the coverage of its CTQs.

Records are named as people name them (a product key, a station, characteristic or gauge
name); the service resolves the names and checks everything, as for the API and the pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from phasegate.cli import context
from phasegate.cli.errors import with_flags
from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, emit_record, emit_rows, to_jsonable, write_json
from phasegate.domain.errors import InvalidInput
from phasegate.services import control_plan as cp
from phasegate.services import crud
from phasegate.services.analysis.charts import CHARTS
from phasegate.services.audit import snapshot
from phasegate.store.models import ControlPlanStatus, FrequencyBasis

plan_app = typer.Typer(
    help="Control plans: per station, the characteristic checked, method, gauge, sample size, "
    "frequency, chart and reaction plan; gauges, gage R&R studies and CTQ coverage.",
    no_args_is_help=True,
)
app.add_typer(plan_app, name="control-plan")

FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format: table, json or csv.")
PLAN = typer.Option(None, "--plan", min=1, help="The plan's id (default: the current plan).")
LINE = typer.Option(None, "--line", help="Line name.")
CHART = typer.Option(None, "--chart", help=f"Control chart: {', '.join(CHARTS)}.")
PER = typer.Option(None, "--per", help="What --every counts: unit, hour, shift, day, lot, setup.")

# The one table from a service's field name to the flag that sets it.
FLAGS = {
    "name": "--name",
    "plan_id": "--plan",
    "plan_version": "--plan-version",
    "status": "--status",
    "line": "--line",
    "line_id": "--line",
    "revision": "--revision",
    "revision_id": "--revision",
    "product": "--product",
    "product_id": "--product",
    "station": "--station",
    "station_id": "--station",
    "characteristic": "--characteristic",
    "characteristic_id": "--characteristic",
    "gauge": "--gauge",
    "gauge_id": "--gauge",
    "method": "--method",
    "sample_size": "--sample-size",
    "frequency": "--frequency",
    "frequency_every": "--every",
    "frequency_per": "--per",
    "chart_type": "--chart",
    "reaction_plan": "--reaction",
    "description": "--description",
    "part": "--part",
    "operator": "--operator",
    "value": "--value",
    "tolerance": "--tolerance",
    "studied_on": "--date",
    "study_multiplier": "--study-multiplier",
    "notes": "--notes",
}

SHEET_COLUMNS = (
    "id",
    "station",
    "characteristic",
    "ctq",
    "method",
    "gauge",
    "sample_size",
    "frequency",
    "chart_type",
    "reaction_plan",
)
COVERAGE_COLUMNS = (
    "characteristic",
    "covered",
    "station",
    "gauge",
    "studied_on",
    "pct_grr_study_var",
    "pct_grr_tolerance",
    "ndc",
    "verdict",
)


@contextmanager
def _flags_named() -> Iterator[None]:
    """Bad input named by the flags that set it, every bad field in the message."""
    try:
        yield
    except InvalidInput as error:
        flagged = with_flags(error, FLAGS)
        if len(flagged.fields) > 1:
            detail = "; ".join(f"{f.loc}: {f.message}" for f in flagged.fields)
            flagged = InvalidInput(detail, flagged.fields)
        raise flagged from error


@plan_app.command("show", help="A product's control plan: every item, by line and station.")
def show(
    product: str = typer.Argument(..., help="Product key."),
    plan: int | None = PLAN,
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    sheet = cp.plan_sheet(uow, product, actor=actor, plan_id=plan)
    if fmt is OutputFormat.JSON:
        write_json(sheet.as_dict())
        return
    rows = [row.as_dict() for row in sheet.rows]
    if fmt is OutputFormat.CSV:
        emit_rows(rows, fmt, columns=list(cp.PlanRow.__slots__))
        return
    p = sheet.plan
    title = f"{sheet.product_key}: {p.name} v{p.plan_version} ({p.status.value}), plan {p.id}"
    for row in rows:
        row["station"] = f"{row['line']} / {row['station']}"
    emit_rows(rows, fmt, columns=SHEET_COLUMNS, title=title)


@plan_app.command("new", help="Create a control plan of a product (a draft unless --status).")
def new(
    product: str = typer.Argument(..., help="Product key."),
    name: str = typer.Option(..., "--name", help="The plan's name."),
    plan_version: str | None = typer.Option(None, "--plan-version", help="e.g. 1 or 2.1."),
    status: ControlPlanStatus | None = typer.Option(None, "--status", help="Default draft."),
    line: str | None = typer.Option(None, "--line", help="The line the plan is written for."),
    revision: str | None = typer.Option(None, "--revision", help="Revision code."),
    description: str | None = typer.Option(None, "--description", help="What it is for."),
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    with _flags_named():
        plan = cp.new_plan(
            uow, product, name=name, plan_version=plan_version,
            status=status.value if status else None, line=line, revision=revision,
            description=description, actor=actor,
        )  # fmt: skip
    emit_record(to_jsonable(snapshot(plan)), fmt, title="Control plan created")


def _item_values(
    method: str | None,
    sample_size: int | None,
    frequency: str | None,
    every: int | None,
    per: FrequencyBasis | None,
    chart: str | None,
    reaction: str | None,
) -> dict[str, Any]:
    given = {
        "method": method,
        "sample_size": sample_size,
        "frequency": frequency,
        "frequency_every": every,
        "frequency_per": per.value if per else None,
        "chart_type": chart,
        "reaction_plan": reaction,
    }
    return {k: v for k, v in given.items() if v is not None}


@plan_app.command("add-item", help="Add an item to a product's control plan.")
def add_item(
    product: str = typer.Argument(..., help="Product key."),
    station: str = typer.Option(..., "--station", help="Station name."),
    characteristic: str = typer.Option(..., "--characteristic", help="Characteristic name."),
    method: str = typer.Option(..., "--method", help="How it is measured or checked."),
    sample_size: int = typer.Option(..., "--sample-size", help="Units checked each time."),
    frequency: str = typer.Option(..., "--frequency", help="How often, in words."),
    reaction: str = typer.Option(..., "--reaction", help="The reaction plan."),
    gauge: str | None = typer.Option(None, "--gauge", help="Gauge name."),
    every: int | None = typer.Option(None, "--every", help="A sample every N of --per."),
    per: FrequencyBasis | None = PER,
    chart: str | None = CHART,
    line: str | None = LINE,
    plan: int | None = PLAN,
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    with _flags_named():
        ids = cp.item_names(
            uow, product, actor=actor, station=station, characteristic=characteristic,
            gauge=gauge, line=line, plan_id=plan,
        )  # fmt: skip
        values = _item_values(method, sample_size, frequency, every, per, chart, reaction)
        item = crud.create(uow, cp.CONTROL_PLAN_ITEMS, ids | values, actor=actor)
    emit_record(to_jsonable(snapshot(item)), fmt, title="Control plan item added")


@plan_app.command("update-item", help="Change fields of a control plan item (by its id).")
def update_item(
    item: int = typer.Argument(..., help="The item's id (control-plan show lists them)."),
    method: str | None = typer.Option(None, "--method", help="How it is measured or checked."),
    sample_size: int | None = typer.Option(None, "--sample-size", help="Units checked each time."),
    frequency: str | None = typer.Option(None, "--frequency", help="How often, in words."),
    every: int | None = typer.Option(None, "--every", help="A sample every N of --per."),
    per: FrequencyBasis | None = PER,
    chart: str | None = CHART,
    reaction: str | None = typer.Option(None, "--reaction", help="The reaction plan."),
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    values = _item_values(method, sample_size, frequency, every, per, chart, reaction)
    if not values:
        raise InvalidInput("nothing to change: give at least one option", [])
    with _flags_named():
        changed = crud.update(uow, cp.CONTROL_PLAN_ITEMS, item, values, actor=actor)
    emit_record(to_jsonable(snapshot(changed)), fmt, title="Control plan item changed")


@plan_app.command("remove-item", help="Remove an item from its control plan (by its id).")
def remove_item(item: int = typer.Argument(..., help="The item's id.")) -> None:
    uow, actor = context.session()
    cp.delete_item(uow, item, actor=actor)
    typer.echo(f"control plan item {item} removed")


@plan_app.command("add-gauge", help="Register a gauge (a measuring instrument or fixture).")
def add_gauge(
    name: str = typer.Argument(..., help="The gauge's id, e.g. MIC-017."),
    product: str | None = typer.Option(None, "--product", help="Product it is dedicated to."),
    line: str | None = LINE,
    description: str | None = typer.Option(None, "--description", help="What it is for."),
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    with _flags_named():
        gauge = cp.new_gauge(
            uow, name, product=product, line=line, description=description, actor=actor
        )
    emit_record(to_jsonable(snapshot(gauge)), fmt, title="Gauge added")


@plan_app.command(
    "gage",
    help="Attach a crossed gage R&R study to a gauge, from a CSV file with one row per reading "
    "(as `phasegate gage` reads it); the readings are stored with the results.",
)
def gage(
    gauge: str = typer.Argument(..., help="Gauge name."),
    file: Path = typer.Argument(..., help="CSV file, one row per reading."),
    characteristic: str = typer.Option(..., "--characteristic", help="Characteristic name."),
    part: str = typer.Option("part", "--part", help="Part column."),
    operator: str = typer.Option("operator", "--operator", help="Operator (appraiser) column."),
    value: str = typer.Option("value", "--value", help="Measurement column."),
    product: str | None = typer.Option(
        None, "--product", help="Product key (for a gauge of no one product)."
    ),
    tolerance: float | None = typer.Option(
        None, "--tolerance", help="USL - LSL (default: the characteristic's)."
    ),
    studied_on: str | None = typer.Option(None, "--date", help="Day of the readings (today)."),
    study_multiplier: float = typer.Option(6.0, "--study-multiplier", help="6, or 5.15."),
    notes: str = typer.Option("", "--notes", help="Notes kept with the study."),
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    with _flags_named():
        study = cp.record_gage_study_from_csv(
            uow, gauge, file, characteristic=characteristic, part=part, operator=operator,
            value=value, product=product, tolerance=tolerance, studied_on=studied_on,
            study_multiplier=study_multiplier, notes=notes, actor=actor,
        )  # fmt: skip
    shown = {k: v for k, v in snapshot(study).items() if k != "readings"}
    shown["verdict"] = cp.study_verdict(study).value
    emit_record(to_jsonable(shown), fmt, title=f"Gage study of {gauge}")


@plan_app.command(
    "coverage",
    help="Per CTQ of a product: covered by the control plan?, by which station and gauge, the "
    "gauge's latest gage R&R (%GRR, ndc) and its AIAG verdict.",
)
def coverage(
    product: str = typer.Argument(..., help="Product key."),
    plan: int | None = PLAN,
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    result = cp.ctq_coverage(uow, product, actor=actor, plan_id=plan)
    if fmt is OutputFormat.JSON:
        write_json(result.as_dict())
        return
    rows = [c.as_dict() for c in result.ctqs]
    if fmt is OutputFormat.CSV:
        emit_rows(rows, fmt, columns=["characteristic_id", *COVERAGE_COLUMNS, "item_id"])
        return
    for row in rows:
        for key in ("pct_grr_study_var", "pct_grr_tolerance"):
            row[key] = "" if row[key] is None else f"{row[key]:.1f} %"
        row["verdict"] = row["verdict"] or ("no gage study" if row["covered"] else "")
    p = result.plan
    title = f"{result.product}: " + (
        f"{p.name} v{p.plan_version} ({p.status.value})" if p else "no control plan"
    )
    title += f" covers {len(result.covered)} of {len(result.ctqs)} CTQs"
    emit_rows(rows, fmt, columns=COVERAGE_COLUMNS, title=title)
