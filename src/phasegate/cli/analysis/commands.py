"""``phasegate spc``, ``capability`` and ``gage``: the standalone analysis of a CSV file.

No database is needed for a file. ``spc`` and ``capability`` also take stored measurements
instead (``--product KEY --build CODE --characteristic NAME``), read by
:func:`phasegate.services.read.measurements.stored_series` (imported only then). The commands
parse options, call :mod:`phasegate.services.analysis`, and render the report with
:mod:`.tables` (and :mod:`.plots` for ``--plot``). The service names its parameters in errors;
:data:`FLAGS` turns them into the flags that set them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from phasegate.cli.analysis import plots, tables
from phasegate.cli.errors import with_flags
from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat
from phasegate.domain.errors import InvalidInput, invalid
from phasegate.services import analysis
from phasegate.services.analysis.charts import CHART_KINDS, SizeColumn

if TYPE_CHECKING:
    from phasegate.ingest.columns import ColumnData

# The one table from a parameter of the analysis services to the flag that sets it (with its
# metavar where a message reads better with it).
FLAGS: dict[str, str] = {
    "value": "--value",
    "chart": "--chart",
    "subgroup": "--subgroup COL",
    "subgroup_size": "--subgroup-size N",
    "size": "--size COL",
    "phase1": "--phase1 K",
    "time": "--time COL",
    "phase1_start": "--phase1-start",
    "phase1_end": "--phase1-end",
    "exclude_out_of_control": "--exclude-out-of-control",
    "rules": "--rules",
    "lam": "--lambda",
    "nsigmas": "--nsigmas",
    "k": "--k",
    "h": "--h",
    "target": "--target",
    "sigma": "--sigma",
    "lsl": "--lsl",
    "usl": "--usl",
    "confidence": "--confidence",
    "sigma_within": "--sigma-within",
    "method": "--method",
    "part": "--part",
    "operator": "--operator",
    "tolerance": "--tolerance",
    "alpha_interaction": "--alpha-interaction",
    "study_multiplier": "--study-multiplier",
    "file": "FILE",
    "product": "--product",
    "build": "--build",
    "characteristic": "--characteristic",
    "station": "--station",
}


@contextmanager
def _flags_named() -> Iterator[None]:
    """Errors from the service name the flags, not the service's parameters."""
    try:
        yield
    except InvalidInput as error:
        raise with_flags(error, FLAGS) from error


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a report is computed and written.

    A large report is hundreds of thousands of small dicts and lists, none in a reference
    cycle; the collector would traverse them all again and again as they are made (three times
    the cost of making them). Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _phrase(words: Sequence[str], last: str = "or") -> str:
    """``"a, b or c"``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format: table, json or csv.")
PLOT = typer.Option(
    None, "--plot", help="Also draw the chart to FILE.html (interactive) or FILE.png."
)
FILE = typer.Argument(
    None,
    help="CSV file (header row; delimiter , ; tab or | detected); or stored data with --build.",
)
VALUE = typer.Option(None, "--value", help="Column with the measurement (a file only).")
PRODUCT = typer.Option(None, "--product", help="Stored data: the product key.")
BUILD = typer.Option(None, "--build", help="Stored data: the build code, instead of FILE.")
CHARACTERISTIC = typer.Option(None, "--characteristic", help="Stored data: the characteristic.")
STATION = typer.Option(None, "--station", help="Stored data: only this station's test runs.")
_STORED_SUBGROUP = "; stored data: run (per test run) or unit (per serial)"


@dataclass(frozen=True, slots=True)
class _Stored:
    """The options that pick stored measurements instead of a file."""

    product: str | None
    build: str | None
    characteristic: str | None
    station: str | None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.product, self.build, self.characteristic))


@dataclass(frozen=True, slots=True, eq=False)
class _Source:
    """What the analysis reads: a file and its value column, or stored columns and their spec."""

    data: Path | ColumnData
    value: str
    lsl: float | None = None
    usl: float | None = None
    target: float | None = None


def _source(
    file: Path | None,
    value: str | None,
    stored: _Stored,
    *,
    subgroup: str | None,
    with_times: bool = False,
) -> _Source:
    """The file, or the stored measurements the options name (read from the database)."""
    if file is not None:
        if stored.given or stored.station is not None:
            raise invalid("file", "give FILE or `build` and `characteristic`, not both")
        if value is None:
            raise invalid("value", "name the column with the measurement")
        return _Source(file, value)
    if not stored.given:
        raise invalid("file", "give FILE, or `build` and `characteristic` for stored data")
    if value is not None:
        raise invalid("value", "stored data has one value per measurement: no column to name")
    from phasegate.cli import context
    from phasegate.services.read.measurements import MeasurementFilters, stored_series

    uow, actor = context.session()
    filters = MeasurementFilters(
        stored.product, stored.build, stored.station, stored.characteristic
    )
    series = stored_series(uow, filters, actor=actor, subgroup=subgroup, with_times=with_times)
    return _Source(series.columns, "value", series.lsl, series.usl, series.target)


_LABELS = _phrase([kind.label for kind in CHART_KINDS])
_SIZED = _phrase([kind.name for kind in CHART_KINDS if kind.size is SizeColumn.REQUIRED], "and")


# -------------------------------------------------------------------------------------------
# spc


@app.command(
    "spc",
    help=(
        f"Control chart of a CSV column or of stored measurements, with run rules: {_LABELS}; "
        "phase I limits from the first K subgroups or a date range."
    ),
)
def spc(
    file: Path | None = FILE,
    value: str | None = VALUE,
    chart: str = typer.Option(
        ..., "--chart", help=f"{_phrase([kind.name for kind in CHART_KINDS])}."
    ),
    subgroup: str | None = typer.Option(
        None,
        "--subgroup",
        help="Column naming each row's subgroup (rows with equal labels)" + _STORED_SUBGROUP + ".",
    ),
    subgroup_size: int | None = typer.Option(
        None, "--subgroup-size", help="Consecutive rows form subgroups of N."
    ),
    size: str | None = typer.Option(
        None, "--size", help=f"Sample-size column, for {_SIZED} charts."
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
    product: str | None = PRODUCT,
    build: str | None = BUILD,
    characteristic: str | None = CHARACTERISTIC,
    station: str | None = STATION,
    fmt: OutputFormat = FORMAT,
    plot: Path | None = PLOT,
) -> None:
    plots.check_plot(plot)
    stored = _Stored(product, build, characteristic, station)
    with _without_cycle_collection():
        with _flags_named():
            times = file is None and bool(phase1_start or phase1_end)
            if file is None and (time is not None or size is not None):
                raise invalid("time" if time is not None else "size", "a column of a FILE only")
            source = _source(file, value, stored, subgroup=subgroup, with_times=times)
            report = analysis.analyse_spc(
                source.data, value=source.value, chart=chart, subgroup=subgroup,
                subgroup_size=subgroup_size, size=size, phase1=phase1,
                time="measured_at" if times else time, phase1_start=phase1_start,
                phase1_end=phase1_end, exclude_out_of_control=exclude, rules=rules, lam=lam,
                nsigmas=nsigmas, k=k, h=h, target=target, sigma=sigma,
            )  # fmt: skip
        doc = report.as_dict()
        tables.print_lines("note", doc["notes"])
        tables.emit_spc(doc, fmt)
        if plot is not None:
            plots.write_figure(plots.spc_figure(doc), plot)


# -------------------------------------------------------------------------------------------
# capability


@app.command(
    "capability",
    help=(
        "Process capability of a CSV column or of stored measurements: Cp, Cpk, Cpm, Pp, Ppk "
        "with confidence intervals, expected and observed ppm, and an Anderson-Darling "
        "normality check."
    ),
)
def capability(
    file: Path | None = FILE,
    value: str | None = VALUE,
    subgroup: str | None = typer.Option(
        None, "--subgroup", help="Subgroup label column" + _STORED_SUBGROUP + "."
    ),
    subgroup_size: int | None = typer.Option(
        None, "--subgroup-size", help="Consecutive rows form subgroups of N."
    ),
    lsl: float | None = typer.Option(
        None, "--lsl", help="Lower specification limit (stored data: the characteristic's)."
    ),
    usl: float | None = typer.Option(
        None, "--usl", help="Upper specification limit (stored data: the characteristic's)."
    ),
    target: float | None = typer.Option(
        None,
        "--target",
        help="Target for Cpm (default: the characteristic's, else the middle of the spec).",
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
    product: str | None = PRODUCT,
    build: str | None = BUILD,
    characteristic: str | None = CHARACTERISTIC,
    station: str | None = STATION,
    fmt: OutputFormat = FORMAT,
    plot: Path | None = PLOT,
) -> None:
    plots.check_plot(plot)
    stored = _Stored(product, build, characteristic, station)
    with _without_cycle_collection():
        with _flags_named():
            source = _source(file, value, stored, subgroup=subgroup)
            report = analysis.analyse_capability(
                source.data, value=source.value, lsl=source.lsl if lsl is None else lsl,
                usl=source.usl if usl is None else usl, subgroup=subgroup,
                subgroup_size=subgroup_size, target=source.target if target is None else target,
                confidence=confidence, sigma_within=sigma_within, method=method,
            )  # fmt: skip
        doc = report.as_dict()
        tables.print_lines("note", doc["notes"])
        tables.print_lines("warning", doc["warnings"])
        tables.emit_capability(doc, fmt)
        if plot is not None:
            plots.write_figure(plots.capability_figure(doc), plot)


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
    plots.check_plot(plot)
    with _without_cycle_collection():
        with _flags_named():
            report = analysis.analyse_gage(
                file, part=part, operator=operator, value=value, tolerance=tolerance,
                alpha_interaction=alpha_interaction, study_multiplier=study_multiplier,
            )  # fmt: skip
        doc = report.as_dict()
        tables.print_lines("note", doc["notes"])
        tables.emit_gage(doc, fmt)
        if plot is not None:
            plots.write_figure(plots.gage_figure(doc), plot)
