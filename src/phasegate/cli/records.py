"""``phasegate products|builds|units ...``: look at the records in the database."""

from __future__ import annotations

from typing import Any

import typer

from phasegate.cli import context
from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, emit_record, emit_rows, to_jsonable
from phasegate.domain.enums import Phase
from phasegate.services import builds as build_service
from phasegate.services import crud
from phasegate.services.audit import snapshot
from phasegate.services.paging import MAX_PAGE
from phasegate.services.products import PRODUCTS, resolve_product
from phasegate.services.read.portfolio import ProductCard, portfolio
from phasegate.services.read.rows import build_schedule, utc_today
from phasegate.services.read.unit import unit_history

products_app = typer.Typer(help="Products: list them.", no_args_is_help=True)
builds_app = typer.Typer(help="Builds: prototype, pilot and production runs.", no_args_is_help=True)
units_app = typer.Typer(
    help="Units: one serial-numbered item and its history.", no_args_is_help=True
)
app.add_typer(products_app, name="products")
app.add_typer(builds_app, name="builds")
app.add_typer(units_app, name="units")

FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format: table, json or csv.")
LIMIT = typer.Option(50, "--limit", min=1, max=MAX_PAGE, help="Rows at most.")
OFFSET = typer.Option(0, "--offset", min=0, help="Rows to skip.")


@products_app.command("list", help="List products with their phase and key counts.")
def products_list(
    phase: Phase | None = typer.Option(None, "--phase", help="Only products in this phase."),
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    cards = portfolio(uow, actor=actor, phase=phase)
    rows = [_product_row(card) for card in cards]
    if fmt is OutputFormat.JSON:
        emit_rows(rows, fmt)
        return
    if fmt is OutputFormat.CSV:
        for row in rows:
            for severity, count in row.pop("open_findings").items():
                row[f"open_findings_{severity}"] = count
            _flatten_specs_and_schedule(row)
        flat = [k for k, v in rows[0].items() if not isinstance(v, dict | list)] if rows else []
        emit_rows(rows, fmt, columns=flat or list(PRODUCT_TABLE))
        return
    for row, card in zip(rows, cards, strict=True):
        counts = row["open_findings"].items()
        row["open_findings"] = ", ".join(f"{n} {sev}" for sev, n in counts if n) or "none"
        row["latest_specs"] = card.latest_specs.label if card.latest_specs else "no build yet"
        late = [f"launch {card.schedule.days_late} d late"] if card.schedule.late else []
        late += [f"{b.code} {b.schedule.days_late} d past its end" for b in card.late_builds]
        row["schedule"] = "; ".join(late) or "on schedule"
    emit_rows(rows, fmt, columns=list(PRODUCT_TABLE), headers=PRODUCT_TABLE, title="Products")


def _product_row(card: ProductCard) -> dict[str, Any]:
    """A portfolio card as a row: its fields, findings by severity, feedback flattened, specs
    met on the latest build with their denominator, and the schedule."""
    row: dict[str, Any] = to_jsonable(card)
    row["open_findings"] = {c.value.value: c.count for c in card.open_findings}
    feedback = row.pop("feedback")
    row["feedback_count"] = feedback["count"]
    row["rated_feedback_count"] = feedback["rated"]
    row["mean_feedback_rating"] = feedback["mean_rating"]
    specs = card.latest_specs
    row["latest_specs"] = (
        None
        if specs is None
        else {
            "build": specs.build_code,
            "measured": specs.measured,
            "met": specs.met,
            "first_pass_failures": specs.first_pass_failures,
            "share": specs.share,
            "label": specs.label,
        }
    )
    row["schedule"] = {
        "late": card.schedule.late,
        "target_launch_date": to_jsonable(card.schedule.due),
        "days_late": card.schedule.days_late,
    }
    row["late_builds"] = [
        {
            "code": b.code,
            "end_date": to_jsonable(b.schedule.due),
            "days_late": b.schedule.days_late,
        }
        for b in card.late_builds
    ]
    return row


def _flatten_specs_and_schedule(row: dict[str, Any]) -> None:
    """The nested specs and schedule of a product row as CSV columns."""
    specs = row.pop("latest_specs") or {}
    for key in ("build", "measured", "met", "first_pass_failures"):
        row[f"specs_{key}"] = specs.get(key)
    schedule = row.pop("schedule")
    row["launch_late"] = schedule["late"]
    row["launch_days_late"] = schedule["days_late"]
    row["late_builds"] = " ".join(b["code"] for b in row.pop("late_builds"))


PRODUCT_TABLE = {
    "key": "key",
    "name": "name",
    "phase": "phase",
    "latest_revision": "rev",
    "build_count": "builds",
    "unit_count": "units",
    "open_findings": "open findings",
    "latest_specs": "specs met (latest build)",
    "schedule": "schedule",
    "mean_feedback_rating": "rating",
    "target_unit_cost": "target cost",
}
BUILD_TABLE = {
    "id": "id",
    "product": "product",
    "code": "code",
    "phase": "phase",
    "status": "status",
    "quantity": "qty",
    "budget": "budget",
    "actual_cost": "cost",
    "start_date": "start",
    "end_date": "end",
    "days_past_end": "schedule",
}


@builds_app.command("list", help="List builds, newest first within each product.")
def builds_list(
    product: str | None = typer.Option(None, "--product", help="Product key or id."),
    phase: Phase | None = typer.Option(None, "--phase", help="Only builds of this phase."),
    limit: int = LIMIT,
    offset: int = OFFSET,
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    filters: dict[str, Any] = {"phase": phase}
    keys: dict[int, str] = {}
    if product is not None:
        item = resolve_product(uow, product, actor=actor)
        filters["product_id"] = item.id
    for p in crud.list_page(uow, PRODUCTS, limit=MAX_PAGE, actor=actor).items:
        keys[p.id] = p.key
    page = crud.list_page(
        uow, build_service.BUILDS, filters=filters, limit=limit, offset=offset, actor=actor
    )
    rows = []
    today = utc_today()
    for build in page.items:
        row = snapshot(build)
        row["product"] = keys.get(build.product_id, build.product_id)
        # Days a build still in progress is past its planned end (0: on schedule).
        row["days_past_end"] = build_schedule(build.status, build.end_date, today).days_late
        rows.append(row)
    if fmt is not OutputFormat.TABLE:
        emit_rows(rows, fmt)
        return
    for row in rows:
        row["quantity"] = f"{row['actual_quantity'] or 0}/{row['planned_quantity']}"
        row["days_past_end"] = f"{row['days_past_end']} d late" if row["days_past_end"] else ""
    shown = f"{offset + 1}-{offset + len(rows)}" if rows else "none"
    emit_rows(
        rows,
        fmt,
        columns=list(BUILD_TABLE),
        headers=BUILD_TABLE,
        title=f"Builds {shown} of {page.total}",
    )


@units_app.command("show", help="Show one unit: its build, station passes, tests and defects.")
def units_show(
    serial: str = typer.Argument(..., help="Serial number of the unit."),
    product: str | None = typer.Option(None, "--product", help="Product key, when ambiguous."),
    fmt: OutputFormat = FORMAT,
) -> None:
    uow, actor = context.session()
    history = unit_history(uow, serial, product, actor=actor)
    if fmt is OutputFormat.JSON:
        emit_record(to_jsonable(history), fmt)
        return
    data = to_jsonable(history, keep_dates=fmt is OutputFormat.TABLE)
    facts = {k: v for k, v in data.items() if not isinstance(v, list)}
    if fmt is OutputFormat.CSV:
        emit_rows([facts], fmt)
        return
    emit_record(facts, fmt, title=f"Unit {history.serial}")
    for title, key, columns in UNIT_SECTIONS:
        if data[key]:
            emit_rows(data[key], fmt, columns=columns, title=title)


UNIT_SECTIONS = (
    (
        "Station passes",
        "passes",
        ["station", "started_at", "ended_at", "operator", "result", "attempt"],
    ),
    ("Test runs", "test_runs", ["id", "station", "procedure", "outcome", "started_at", "operator"]),
    ("Defects", "defects", ["code", "severity", "disposition", "station", "found_at", "cost"]),
)


@builds_app.command(
    "report",
    help=(
        "The whole analysis of a build in one document: line (takt, bottleneck, balance, "
        "throughput, stations), quality (FPY, RTY, DPMO, scrap and rework, characteristics with "
        "Cpk), defects by code and station, cost per unit against the target. json: the "
        "build report; table and csv: its headline figures."
    ),
)
def builds_report(
    build: str = typer.Argument(..., help="Build code."),
    product: str | None = typer.Option(None, "--product", help="Product key of the build."),
    fmt: OutputFormat = FORMAT,
) -> None:
    from phasegate.cli.errors import with_flags
    from phasegate.cli.output import write_json
    from phasegate.domain.errors import InvalidInput
    from phasegate.services.read.build_report import build_report

    uow, actor = context.session()
    try:
        report = build_report(uow, build, product=product, actor=actor).document
    except InvalidInput as error:
        raise with_flags(error, {"product": "--product"}) from error
    if fmt is OutputFormat.JSON:
        write_json(report)
        return
    emit_rows(report_figures(report), fmt, columns=["section", "figure", "value"], title=build)


def report_figures(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's headline figures, one row each (section, figure, value)."""
    line, quality, cost = report["line"], report["quality"], report["cost"]
    rows = [
        ("build", "phase", report["phase"]),
        ("build", "units", report["units"]),
        ("line", "takt_s", line["takt_s"]),
        ("line", "bottleneck", line["bottleneck"]),
        ("line", "balance_efficiency", line["balance_efficiency"]),
        ("line", "throughput_per_hour", line["throughput_per_hour"]),
        ("quality", "fpy", quality["fpy"]["value"]),
        ("quality", "rty", quality["rty"]["value"]),
        ("quality", "dpmo", quality["dpmo"]),
        ("quality", "scrap_rate", quality["scrap_rate"]),
        ("quality", "rework_rate", quality["rework_rate"]),
        ("quality", "characteristics", len(quality["characteristics"])),
        ("defects", "codes", len(report["defects"]["by_code"])),
        *(("cost", key, value) for key, value in cost.items()),
    ]
    return [{"section": s, "figure": f, "value": v} for s, f, v in rows]
