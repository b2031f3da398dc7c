"""``phasegate cost BUILD``: a build's cost per unit, its breakdown and its projection."""

from __future__ import annotations

from typing import Any

import typer

from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, console, emit_rows, write_json


@app.command(
    "cost",
    help=(
        "A build's cost per unit and per good unit by material, labor, overhead, tooling, scrap "
        "and rework; the learning curve and the cost projected to the target volume."
    ),
)
def cost(
    build: str = typer.Argument(..., help="Build code."),
    product: str | None = typer.Option(None, "--product", help="Product key of the build."),
    fmt: OutputFormat = typer.Option(
        OutputFormat.TABLE, "--format", help="Output format: table, json or csv."
    ),
) -> None:
    from phasegate.cli import context
    from phasegate.cli.errors import with_flags
    from phasegate.domain.errors import InvalidInput
    from phasegate.services import costing

    uow, actor = context.session()
    try:
        result = costing.build_cost(uow, build, product=product, actor=actor)
    except InvalidInput as error:
        raise with_flags(error, {"product": "--product"}) from error
    if fmt is OutputFormat.JSON:
        write_json(costing.as_dict(result))
        return
    rows = costing.cost_sheet(result)
    if fmt is OutputFormat.CSV:
        emit_rows(rows, fmt, columns=costing.SHEET_COLUMNS)
        return
    title = (
        f"Cost of {result.build} ({result.product}, {result.phase.value}, rev {result.revision})"
    )
    if rows:
        emit_rows(rows, fmt, columns=costing.SHEET_COLUMNS, title=title)
    _notes(result)


def _notes(result: Any) -> None:
    """Below the sheet: the learning curve, the projection's band, and what is missing."""
    curve, projection = result.curve, result.projection
    if curve is not None:
        low, high = curve.learning_rate_ci().as_list()
        console.print(
            f"Learning curve: {curve.learning_rate:.1%} (95 % CI {low:.1%} to {high:.1%}) "
            f"over {curve.n} units"
        )
    if projection is not None:
        low, high = projection.band.as_list()
        console.print(
            f"Projected at {result.volume:,} units: {projection.per_good_unit:.2f} per good unit "
            f"({low:.2f} to {high:.2f})"
        )
    if result.cost is None:
        console.print(f"insufficient data for a cost of {result.build}")
    for reason in result.missing:
        console.print(f"- {reason}")
