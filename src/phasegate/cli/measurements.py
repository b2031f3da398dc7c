"""``phasegate measurements summary|export``: stored measurements summed up or written out."""

from __future__ import annotations

from pathlib import Path

import typer

from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, emit_rows

measurements_app = typer.Typer(
    help="Stored measurements: a summary per measurement name, or an export to CSV or Parquet.",
    no_args_is_help=True,
)
app.add_typer(measurements_app, name="measurements")

FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format: table, json or csv.")
PRODUCT = typer.Option(None, "--product", help="Product key.")
BUILD = typer.Option(None, "--build", help="Build code.")
STATION = typer.Option(None, "--station", help="Station name (the test run's station).")
CHARACTERISTIC = typer.Option(None, "--characteristic", help="Characteristic name.")

SUMMARY_COLUMNS = ("name", "unit", "count", "mean", "std", "min", "max", "passed", "failed")


@measurements_app.command(
    "summary",
    help=(
        "One row per measurement name: name, unit, count, mean, std (n - 1), min, max, passed, "
        "failed; from the maintained aggregates, or from the measurements with --station."
    ),
)
def summary(
    product: str | None = PRODUCT,
    build: str | None = BUILD,
    station: str | None = STATION,
    characteristic: str | None = CHARACTERISTIC,
    fmt: OutputFormat = FORMAT,
) -> None:
    from phasegate.cli import context
    from phasegate.services.read.measurements import MeasurementFilters, measurement_summary

    uow, actor = context.session()
    filters = MeasurementFilters(product, build, station, characteristic)
    result = measurement_summary(uow, filters, actor=actor)
    rows = [{c: getattr(row, c) for c in SUMMARY_COLUMNS} for row in result.rows]
    if fmt is OutputFormat.TABLE:
        products = {row.product for row in result.rows}
        for shown, row in zip(rows, result.rows, strict=True):
            if len(products) > 1:
                shown["name"] = f"{row.product}: {row.name}"
            for key in ("mean", "std", "min", "max"):  # for a person: six significant digits
                shown[key] = "" if shown[key] is None else f"{shown[key]:.6g}"
        how = {"aggregates": "the per-build aggregates", "measurements": "the stored rows"}
        title = f"Measurements, from {how[result.source]}"
        emit_rows(rows, fmt, columns=SUMMARY_COLUMNS, title=title)
        return
    emit_rows(rows, fmt, columns=SUMMARY_COLUMNS)


@measurements_app.command(
    "export",
    help=(
        "Write the measurements (serial, build, station, test_run, name, value, text_value, "
        "unit, lsl, usl, outcome, marginal, measured_at) to FILE.csv or FILE.parquet, streamed."
    ),
)
def export(
    out: Path = typer.Option(..., "--out", help="FILE.csv or FILE.parquet to write."),
    product: str | None = PRODUCT,
    build: str | None = BUILD,
    station: str | None = STATION,
    characteristic: str | None = CHARACTERISTIC,
    columns: str | None = typer.Option(
        None, "--columns", help="Comma-separated columns to write, in order (default: all)."
    ),
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from phasegate.cli import context
    from phasegate.cli.errors import with_flags
    from phasegate.cli.output import err_console
    from phasegate.domain.errors import InvalidInput
    from phasegate.services.read.measurements import MeasurementFilters, export_measurements

    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    uow, actor = context.session()
    filters = MeasurementFilters(product, build, station, characteristic)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"export {out.name}", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = export_measurements(
                uow, out, filters, actor=actor, columns=chosen, progress=advance
            )
        except InvalidInput as error:
            raise with_flags(error, {"path": "--out", "columns": "--columns"}) from error
    err_console.print(f"{result.rows} measurements written to {result.path}")
