"""``phasegate line simulate|trace``: the line model file run through the line simulation.

No database is needed. The line file (TOML) is read by :func:`phasegate.line.model.parse_line_toml`;
a bad value is reported with its key path (``stations[2].time.cv``) and exit code 2. The
simulation itself (and numba, which compiles it) is imported only when a command runs.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from phasegate.cli.main import app
from phasegate.cli.output import OutputFormat, console, emit_rows, err_console, write_json
from phasegate.domain.errors import FieldError, InvalidInput

if TYPE_CHECKING:
    import numpy as np

    from phasegate.line.model import Line
    from phasegate.line.simulation import SimulationResult

HELP = (
    "Line simulation from a line model file (TOML): throughput, WIP, flow time, bottleneck and "
    "station shares over replications, or the exact departure times for given processing times."
)

line_app = typer.Typer(help=HELP, no_args_is_help=True)
app.add_typer(line_app, name="line")

FORMAT = typer.Option(OutputFormat.TABLE, "--format", help="Output format: table, json or csv.")
LINE_FILE = typer.Argument(
    ...,
    exists=True,
    dir_okay=False,
    readable=True,
    help="Line model file (TOML): name and [[stations]] with servers, buffer, time, "
    "mtbf_s/mttr_s and yield.",
)

STATION_COLUMNS = ("station", "servers", "utilization", "blocked", "starved", "down", "bottleneck")
SUMMARY_KEYS = ("throughput_per_hour", "mean_wip", "mean_flow_time_s")


def read_line(path: Path) -> Line:
    """The line model in ``path``; a bad value names the file and the key path."""
    from phasegate.line.model import parse_line_toml

    try:
        return parse_line_toml(path.read_bytes(), source=path.name)
    except InvalidInput as error:
        if error.message.startswith(f"{path.name}:"):
            raise
        raise InvalidInput(f"{path.name}: {error.message}", error.fields) from None


@line_app.command(
    "simulate",
    help="Simulate the line: throughput per hour, mean WIP, mean flow time (with 95 % "
    "intervals over replications), the bottleneck, and per station the shares of time "
    "working, blocked, starved and down. The same seed gives the same numbers.",
)
def simulate(
    line_file: Path = LINE_FILE,
    units: int = typer.Option(
        ..., "--units", min=1, help="Units leaving the line per replication, after the warm-up."
    ),
    replications: int = typer.Option(
        5, "--replications", min=1, help="Independent replications (intervals need 2 or more)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed."),
    warmup: int = typer.Option(
        0, "--warmup", min=0, help="Units leaving the line first, before measuring starts."
    ),
    fmt: OutputFormat = FORMAT,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from phasegate.line.simulation import simulate as run

    line = read_line(line_file)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,  # nothing on stderr when it is a file or pipe
    ) as bar:
        task = bar.add_task(f"simulate {line.name}", total=replications)
        result = run(
            line,
            units,
            replications=replications,
            seed=seed,
            warmup=warmup,
            progress=lambda done: bar.update(task, completed=done),
        )
    document = simulation_document(result)
    if fmt is OutputFormat.JSON:
        write_json(document)
        return
    rows = [
        {"station": s["name"], **{k: v for k, v in s.items() if k != "name"}}
        for s in document["stations"]
    ]
    if fmt is OutputFormat.CSV:
        emit_rows(rows, fmt, columns=STATION_COLUMNS)
        return
    console.print(f"[bold]{result.line}[/bold]: {_run_line(result)}")
    for key in SUMMARY_KEYS:
        console.print(f"[bold]{key.replace('_', ' ')}:[/bold] {_with_interval(document, key)}")
    console.print(f"[bold]bottleneck:[/bold] {result.bottleneck}")
    emit_rows(rows, fmt, columns=STATION_COLUMNS, title="Share of server time per station")


def simulation_document(result: SimulationResult) -> dict[str, Any]:
    """The JSON document of ``line simulate``: the contract's keys, then the run's settings."""
    return {
        "line": result.line,
        "throughput_per_hour": result.throughput_per_hour,
        "mean_wip": result.mean_wip,
        "mean_flow_time_s": result.mean_flow_time_s,
        "bottleneck": result.bottleneck,
        "ci": {key: list(result.ci[key]) for key in SUMMARY_KEYS},
        "confidence": result.confidence,
        "stations": [
            {
                "name": s.name,
                "servers": s.servers,
                "utilization": s.utilization,
                "blocked": s.blocked,
                "starved": s.starved,
                "down": s.down,
                "bottleneck": s.name == result.bottleneck,
            }
            for s in result.stations
        ],
        "units": result.units,
        "replications": result.replications,
        "seed": result.seed,
        "warmup": result.warmup,
    }


def _run_line(result: SimulationResult) -> str:
    return (
        f"{result.replications} replication(s) of {result.units} units after a warm-up of "
        f"{result.warmup}, seed {result.seed}"
    )


def _with_interval(document: dict[str, Any], key: str) -> str:
    low, high = document["ci"][key]
    value = f"{document[key]:.6g}"
    if math.isnan(low):
        return value
    return f"{value} [{low:.6g}, {high:.6g}]"


@line_app.command(
    "trace",
    help="Departure time of each unit from each station, for exact processing times given in "
    "a CSV file (one row per unit, one column per station in station order, an optional header "
    "of the station names). Units start at time 0; breakdowns and yield are not applied.",
)
def trace(
    line_file: Path = LINE_FILE,
    times: Path = typer.Option(
        ...,
        "--times",
        exists=True,
        dir_okay=False,
        readable=True,
        help="CSV of processing times in seconds: a row per unit, a column per station.",
    ),
    fmt: OutputFormat = FORMAT,
) -> None:
    from phasegate.line.simulation import trace as run

    line = read_line(line_file)
    matrix = read_times(times, line)
    departures = run(line, matrix)
    names = [s.name for s in line.stations]
    if fmt is OutputFormat.JSON:
        write_json({"line": line.name, "stations": names, "departures_s": departures})
        return
    if fmt is OutputFormat.CSV:
        _write_csv(names, departures)
        return
    rows = [
        {"unit": i + 1, **dict(zip(names, (float(v) for v in row), strict=True))}
        for i, row in enumerate(departures)
    ]
    emit_rows(rows, fmt, columns=["unit", *names], title=f"Departure times (s), {line.name}")


def _write_csv(names: list[str], departures: np.ndarray) -> None:
    import sys

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["unit", *names])
    for i, row in enumerate(departures.tolist()):
        writer.writerow([i + 1, *(repr(v) for v in row)])
    sys.stdout.write(buf.getvalue())


def read_times(path: Path, line: Line) -> np.ndarray:
    """Processing times from a CSV file; a bad cell is named by file, line and column."""
    import numpy as np

    names = [s.name for s in line.stations]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    start = 0
    if rows and not _numeric(rows[0][0] if rows[0] else ""):
        header = [cell.strip() for cell in rows[0]]
        if header != names:
            raise _bad(path, 1, f"the header must name the stations in order: {', '.join(names)}")
        start = 1
    values: list[list[float]] = []
    for number, row in enumerate(rows[start:], start=start + 1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            raise _bad(path, number, f"{len(row)} values, the line has {len(names)} stations")
        parsed = []
        for column, cell in enumerate(row):
            try:
                seconds = float(cell)
            except ValueError:
                raise _bad(path, number, f"{names[column]}: not a number: {cell!r}") from None
            if not math.isfinite(seconds) or seconds < 0:
                raise _bad(path, number, f"{names[column]}: must be >= 0 seconds, got {cell!r}")
            parsed.append(seconds)
        values.append(parsed)
    if not values:
        raise InvalidInput(f"{path.name}: no processing times", [FieldError(path.name, "empty")])
    return np.array(values, dtype=np.float64)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _bad(path: Path, line: int, message: str) -> InvalidInput:
    loc = f"{path.name}:{line}"
    return InvalidInput(f"{loc}: {message}", [FieldError(loc, message)])


@line_app.command(
    "from-pilot",
    help="Write a line model file (TOML) from a build's station passes: per station the time "
    "each unit took there (the times themselves, or a lognormal fitted by their mean and CV), "
    "its servers, a buffer (none is recorded: --buffer places) and the yield of the units "
    "scrapped there. Comments in the file say where each number came from.",
)
def from_pilot(
    build: str = typer.Argument(..., help="Build code (any case)."),
    product: str | None = typer.Option(
        None, "--product", help="Product key, when several products have a build with this code."
    ),
    fit: str = typer.Option(
        "empirical",
        "--fit",
        help="Station times: empirical (the unit times themselves) or lognormal (fitted by "
        "their mean and CV).",
    ),
    buffer: int = typer.Option(
        2, "--buffer", min=0, help="Places in front of every station (none is recorded)."
    ),
    out: Path | None = typer.Option(
        None, "--out", dir_okay=False, help="Write the line file here instead of to stdout."
    ),
) -> None:
    import sys

    from phasegate.cli import context
    from phasegate.services.line_model import line_from_build, to_toml

    uow, actor = context.session()
    pilot = line_from_build(uow, build, actor=actor, product=product, fit=fit, buffer=buffer)
    text = to_toml(pilot)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    err_console.print(
        f"Wrote {out} ({len(pilot.line.stations)} stations of build {pilot.build_code})"
    )
