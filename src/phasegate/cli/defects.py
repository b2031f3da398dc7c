"""``phasegate defects BUILD``, ``phasegate defects pareto|rates BUILD`` and
``phasegate allocate BUILD``: a build's defects, their Pareto and rates, and where its units go.

``phasegate defects BUILD`` is short for ``phasegate defects list BUILD`` (a build whose code is
the name of a subcommand is listed with ``list``).
"""

from __future__ import annotations

from typing import Any

import typer
from typer import _click
from typer.core import TyperGroup

from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, emit_rows, write_json


class _ListByDefault(TyperGroup):
    """A group whose first argument, when it names no subcommand, is the build to list."""

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


defects_app = typer.Typer(
    cls=_ListByDefault,
    help="A build's defects: the list (filtered by code, station, severity, disposition), the "
    "Pareto by code or station, and DPU, DPMO, scrap and rework rates.",
    no_args_is_help=True,
)
app.add_typer(defects_app, name="defects")

BUILD = typer.Argument(..., help="The build's code.")
PRODUCT = typer.Option(None, "--product", help="Product key, when the code is in several.")
FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format: table, json or csv.")

LIST_COLUMNS = (
    "found_at",
    "serial",
    "code",
    "station",
    "severity",
    "disposition",
    "cost",
    "description",
    "notes",
)
# What the service calls each parameter, as the command line spells it.
FLAGS = {
    "code": "--code CODE",
    "station": "--station NAME",
    "severity": "--severity LEVEL",
    "disposition": "--disposition WHAT",
    "by": "--by code|station",
    "measure": "--measure count|cost",
    "purpose": "--purpose PURPOSE",
    "serials": "--serial SERIAL",
    "count": "--count N",
    "product": "--product KEY",
}


def _flagged(run: Any) -> Any:
    """``run()``, with an input error naming the flags instead of the service's parameters."""
    from phasegate.cli.errors import with_flags
    from phasegate.domain.errors import InvalidInput

    try:
        return run()
    except InvalidInput as error:
        raise with_flags(error, FLAGS) from error


@defects_app.command(
    "list",
    help="The build's defects, newest first: when found, unit serial, code, station, severity, "
    "disposition, cost, description, notes. --station '(none)' keeps those of no station.",
)
def list_defects(
    build: str = BUILD,
    product: str | None = PRODUCT,
    code: str | None = typer.Option(None, "--code", help="Defect code."),
    station: str | None = typer.Option(None, "--station", help="Station name, or '(none)'."),
    severity: str | None = typer.Option(
        None, "--severity", help="critical, major, minor or cosmetic."
    ),
    disposition: str | None = typer.Option(
        None, "--disposition", help="pending, rework, scrap, use_as_is or return_to_vendor."
    ),
    fmt: OutputFormat = FORMAT,
) -> None:
    from phasegate.cli import context
    from phasegate.services.read.defects import (
        DefectFilters,
        all_build_defects,
        build_defects,
        find_build,
    )

    uow, actor = context.session()
    ref = _flagged(lambda: find_build(uow, build, product=product, actor=actor))
    filters = _flagged(
        lambda: DefectFilters.parse(
            code=code, station=station, severity=severity, disposition=disposition
        )
    )
    first = _flagged(lambda: build_defects(uow, ref.id, filters, actor=actor, limit=1))
    rows = [
        {c: getattr(row, c) for c in LIST_COLUMNS}
        for row in all_build_defects(uow, ref.id, filters, actor=actor)
    ]
    title = (
        f"Defects of {ref.product_key} {ref.code}: {first.total} on {first.units} units, "
        f"cost {first.total_cost:,.2f}"
    )
    emit_rows(rows, fmt, columns=LIST_COLUMNS, title=title if fmt is OutputFormat.TABLE else None)


PARETO_COLUMNS = ("key", "label", "count", "cost", "share", "cumulative_share", "vital")


@defects_app.command(
    "pareto",
    help="The build's defects grouped by code or station, ordered by count or cost, with each "
    "group's share and the cumulative share; says when there are too few defects to rank.",
)
def pareto(
    build: str = BUILD,
    product: str | None = PRODUCT,
    by: str = typer.Option("code", "--by", help="Group by code or station."),
    measure: str = typer.Option("count", "--measure", help="Order by count or cost."),
    fmt: OutputFormat = FORMAT,
) -> None:
    from phasegate.cli import context
    from phasegate.cli.output import console
    from phasegate.services.read.defects import defect_pareto, find_build

    uow, actor = context.session()
    ref = _flagged(lambda: find_build(uow, build, product=product, actor=actor))
    result = _flagged(lambda: defect_pareto(uow, ref.id, actor=actor, by=by, measure=measure))
    rows = [{c: getattr(bar, c) for c in PARETO_COLUMNS} for bar in result.bars]
    if fmt is OutputFormat.JSON:
        write_json(
            {
                "build": ref.code,
                "product": ref.product_key,
                "by": result.by,
                "measure": result.measure,
                "n": result.n,
                "total_cost": result.total_cost,
                "insufficient": result.insufficient,
                "min_defects": result.min_defects,
                "bars": rows,
            }
        )
        return
    if fmt is OutputFormat.TABLE:
        for row in rows:
            row["share"] = f"{row['share'] * 100:.1f} %"
            row["cumulative_share"] = f"{row['cumulative_share'] * 100:.1f} %"
        title = (
            f"Defects of {ref.product_key} {ref.code} by {result.by}, ordered by {result.measure}"
        )
        emit_rows(rows, fmt, columns=PARETO_COLUMNS, title=title)
        if result.insufficient:
            console.print(
                f"insufficient data (n = {result.n}): a Pareto needs {result.min_defects} defects"
            )
        return
    emit_rows(rows, fmt, columns=PARETO_COLUMNS)


RATE_COLUMNS = ("rate", "value", "count", "units", "ci_low", "ci_high")


@defects_app.command(
    "rates",
    help="DPU and DPMO (exact Poisson intervals), scrap and rework rates (Wilson intervals) of "
    "the build's units; docs/defects.md defines each.",
)
def rates(build: str = BUILD, product: str | None = PRODUCT, fmt: OutputFormat = FORMAT) -> None:
    from phasegate.cli import context
    from phasegate.cli.output import console
    from phasegate.services.read.defects import find_build, quality_rates

    uow, actor = context.session()
    ref = _flagged(lambda: find_build(uow, build, product=product, actor=actor))
    r = quality_rates(uow, ref.id, actor=actor)
    shown = (
        ("dpu", r.dpu, r.defects),
        ("dpmo", r.dpmo, r.defects),
        ("scrap_rate", r.scrap, r.scrapped),
        ("rework_rate", r.rework, r.reworked),
    )
    rows = [
        {
            "rate": name,
            "value": None if rate is None else rate.value,
            "count": count,
            "units": r.units,
            "ci_low": None if rate is None else rate.ci.low,
            "ci_high": None if rate is None else rate.ci.high,
        }
        for name, rate, count in shown
    ]
    if fmt is OutputFormat.JSON:
        write_json(
            {
                "build": ref.code,
                "product": ref.product_key,
                "units": r.units,
                "defects": r.defects,
                "opportunities_per_unit": r.opportunities_per_unit,
                "insufficient": r.insufficient,
                **{row["rate"]: row for row in rows},
            }
        )
        return
    title = (
        f"Quality rates of {ref.product_key} {ref.code} "
        f"({r.opportunities_per_unit} opportunities per unit)"
    )
    emit_rows(rows, fmt, columns=RATE_COLUMNS, title=title if fmt is OutputFormat.TABLE else None)
    if fmt is OutputFormat.TABLE and r.insufficient:
        console.print(f"insufficient data (n = {r.units}): the rates need {r.min_units} unit")


ALLOCATE_COLUMNS = ("serial", "before", "after", "version")


@app.command(
    "allocate",
    help="Give units of a build a purpose (testing, marketing, regulatory, engineering, "
    "customer, or unallocated): those named with --serial, or --count N unallocated ones (the "
    "first by serial). Prints the units changed and the counts per purpose after.",
)
def allocate(
    build: str = BUILD,
    purpose: str = typer.Option(..., "--purpose", help="What the units are for."),
    serials: list[str] | None = typer.Option(
        None, "--serial", help="A unit's serial; repeat for more."
    ),
    count: int | None = typer.Option(None, "--count", help="How many unallocated units."),
    product: str | None = PRODUCT,
    fmt: OutputFormat = FORMAT,
) -> None:
    from phasegate.cli import context
    from phasegate.cli.output import console
    from phasegate.services.allocation import allocate_units
    from phasegate.services.read.defects import find_build

    uow, actor = context.session()
    ref = _flagged(lambda: find_build(uow, build, product=product, actor=actor))
    change = _flagged(
        lambda: allocate_units(
            uow, ref.id, purpose, actor=actor, serials=serials or None, count=count
        )
    )
    rows = [{c: getattr(u, c) for c in ALLOCATE_COLUMNS} for u in change.changed]
    counts = {c.value.value: c.count for c in change.counts.counts}
    if fmt is OutputFormat.JSON:
        write_json(
            {
                "build": ref.code,
                "product": ref.product_key,
                "purpose": change.purpose,
                "changed": rows,
                "unchanged": list(change.unchanged),
                "counts": counts,
            }
        )
        return
    if fmt is OutputFormat.CSV:
        emit_rows(rows, fmt, columns=ALLOCATE_COLUMNS)
        return
    emit_rows(rows, fmt, columns=ALLOCATE_COLUMNS, title=f"Units allocated to {change.purpose}")
    if change.unchanged:
        console.print(f"already {change.purpose.value}: {', '.join(change.unchanged)}")
    console.print("now: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
