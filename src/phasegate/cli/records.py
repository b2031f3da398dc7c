"""``phasegate products|builds|units ...``: look at the records in the database."""

from __future__ import annotations

from typing import Any

import typer

from phasegate.cli import context
from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, emit_record, emit_rows, to_jsonable
from phasegate.domain.enums import Phase
from phasegate.services import builds as build_service
from phasegate.services import crud, overview
from phasegate.services.audit import snapshot
from phasegate.services.products import PRODUCTS, resolve_product

products_app = typer.Typer(help="Products: list them.", no_args_is_help=True)
builds_app = typer.Typer(help="Builds: prototype, pilot and production runs.", no_args_is_help=True)
units_app = typer.Typer(
    help="Units: one serial-numbered item and its history.", no_args_is_help=True
)
app.add_typer(products_app, name="products")
app.add_typer(builds_app, name="builds")
app.add_typer(units_app, name="units")

FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format: table, json or csv.")
LIMIT = typer.Option(50, "--limit", min=1, max=crud.MAX_PAGE, help="Rows at most.")
OFFSET = typer.Option(0, "--offset", min=0, help="Rows to skip.")


@products_app.command("list", help="List products with their phase and key counts.")
def products_list(
    phase: Phase | None = typer.Option(None, "--phase", help="Only products in this phase."),
    fmt: OutputFormat = FORMAT,
) -> None:
    rows = [to_jsonable(card) for card in overview.portfolio(context.uow(), phase=phase)]
    emit_rows(
        rows,
        fmt,
        columns=None if fmt is OutputFormat.JSON else _card_columns(rows),
        title="Products",
    )


def _card_columns(rows: list[Any]) -> list[str]:
    if not rows:
        return ["key", "name", "phase"]
    return [k for k, v in rows[0].items() if not isinstance(v, dict | list)]


@builds_app.command("list", help="List builds, newest first within each product.")
def builds_list(
    product: str | None = typer.Option(None, "--product", help="Product key or id."),
    phase: Phase | None = typer.Option(None, "--phase", help="Only builds of this phase."),
    limit: int = LIMIT,
    offset: int = OFFSET,
    fmt: OutputFormat = FORMAT,
) -> None:
    uow = context.uow()
    filters: dict[str, Any] = {"phase": phase}
    keys: dict[int, str] = {}
    if product is not None:
        item = resolve_product(uow, product)
        filters["product_id"] = item.id
    for p in crud.list_page(uow, PRODUCTS, limit=crud.MAX_PAGE).items:
        keys[p.id] = p.key
    page = crud.list_page(uow, build_service.BUILDS, filters=filters, limit=limit, offset=offset)
    rows = []
    for build in page.items:
        row = snapshot(build)
        row["product"] = keys.get(build.product_id, build.product_id)
        rows.append(row)
    columns = [
        "id",
        "product",
        "code",
        "phase",
        "status",
        "technique",
        "fidelity",
        "planned_quantity",
        "actual_quantity",
        "budget",
        "actual_cost",
        "start_date",
        "end_date",
    ]
    if fmt is OutputFormat.JSON:
        emit_rows(rows, fmt)
    else:
        emit_rows(
            rows,
            fmt,
            columns=columns,
            title=f"Builds {offset + 1}-{offset + len(rows)} of {page.total}",
        )


@units_app.command("show", help="Show one unit: its build, station passes, tests and defects.")
def units_show(
    serial: str = typer.Argument(..., help="Serial number of the unit."),
    product: str | None = typer.Option(None, "--product", help="Product key, when ambiguous."),
    fmt: OutputFormat = FORMAT,
) -> None:
    history = overview.unit_history(context.uow(), serial, product)
    data = to_jsonable(history)
    if fmt is OutputFormat.JSON:
        emit_record(data, fmt)
        return
    flat = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                if not isinstance(sub_value, dict | list):
                    flat[f"{key}_{sub}"] = sub_value
    if fmt is OutputFormat.CSV:
        emit_rows([flat], fmt)
        return
    emit_record(flat, fmt, title=f"Unit {serial}")
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            emit_rows(
                value,
                fmt,
                columns=[k for k, v in value[0].items() if not isinstance(v, dict | list)],
                title=key.replace("_", " ").capitalize(),
            )
