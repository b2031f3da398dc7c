"""The ``phasegate`` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import typer
import typer.main
from typer import _click
from typer.core import TyperCommand, TyperGroup

from phasegate import __version__
from phasegate.cli.errors import exit_code_for

# Every command, in the order ``phasegate --help`` lists them: the module that defines it and its
# help line. A module is imported only when one of its commands runs (or shows its own help), so
# listing the commands loads no database, statistics or settings code. A test checks this table
# against the commands the modules define.
COMMANDS: dict[str, tuple[str, str]] = {
    "spc": (
        "phasegate.cli.analysis.commands",
        "Control chart of a CSV column or of stored measurements, with run rules: X̄-R, X̄-S, "
        "I-MR, p, np, c, u, EWMA or CUSUM; phase I limits from the first K subgroups or a date "
        "range.",
    ),
    "capability": (
        "phasegate.cli.analysis.commands",
        "Process capability of a CSV column or of stored measurements: Cp, Cpk, Cpm, Pp, Ppk "
        "with confidence intervals, expected and observed ppm, and an Anderson-Darling "
        "normality check.",
    ),
    "gage": (
        "phasegate.cli.analysis.commands",
        "Crossed gage R&R (ANOVA method, AIAG MSA 4th ed.) from a CSV file with one row per "
        "reading: repeatability, reproducibility, %GRR, %tolerance, ndc.",
    ),
    "init": (
        "phasegate.cli.system",
        "Create or upgrade the database schema and, on a database without users, the first "
        "admin with a one-time password (safe to run again).",
    ),
    "demo": (
        "phasegate.cli.system",
        "Load the demo: three products, one in each phase, and a login per role (migrates first).",
    ),
    "serve": (
        "phasegate.cli.system",
        "Run the web app and the API (http://HOST:PORT, API under /api/v1).",
    ),
    "products": ("phasegate.cli.records", "Products: list them."),
    "builds": ("phasegate.cli.records", "Builds: prototype, pilot and production runs."),
    "units": ("phasegate.cli.records", "Units: one serial-numbered item and its history."),
    "defects": (
        "phasegate.cli.defects",
        "A build's defects: the list (filtered by code, station, severity, disposition), the "
        "Pareto by code or station, and DPU, DPMO, scrap and rework rates.",
    ),
    "allocate": (
        "phasegate.cli.defects",
        "Give units of a build a purpose (testing, marketing, regulatory, engineering, customer, "
        "or unallocated): those named with --serial, or --count N unallocated ones (the first "
        "by serial). Prints the units changed and the counts per purpose after.",
    ),
    "ingest": (
        "phasegate.cli.ingest",
        "Test data in: OpenHTF records, CSV and JSON files, station passes and defects; "
        "files, folders, globs or a watched drop folder.",
    ),
    "measurements": (
        "phasegate.cli.measurements",
        "Stored measurements: a summary per measurement name, or an export to CSV or Parquet.",
    ),
    "characteristics": (
        "phasegate.cli.characteristics",
        "A build's characteristics: n, mean, sd, Cpk with its 95 % interval and lower bound, "
        "Nelson signals and a status (watch: Cpk lower bound below 1.33 or a signal; "
        "insufficient_data: fewer than 25 values); with --name one characteristic's chart points "
        "and signals with their units, capability and phase I limits.",
    ),
    "cost": (
        "phasegate.cli.costing",
        "A build's cost per unit and per good unit by material, labor, overhead, tooling, scrap "
        "and rework; the learning curve and the cost projected to the target volume.",
    ),
    "line-performance": (
        "phasegate.cli.line_performance",
        "A build's line performance: cycle times per station, bottleneck, takt time, balance "
        "efficiency, throughput, WIP and flow time, waiting and rework.",
    ),
    "line": (
        "phasegate.cli.line",
        "Line simulation from a line model file (TOML): throughput, WIP, flow time, bottleneck "
        "and station shares over replications, or the exact departure times for given "
        "processing times.",
    ),
    "control-plan": (
        "phasegate.cli.control_plan",
        "Control plans: per station, the characteristic checked, method, gauge, sample size, "
        "frequency, chart and reaction plan; gauges, gage R&R studies and CTQ coverage.",
    ),
    "gates": (
        "phasegate.cli.gates",
        "Stage gates: evaluate a product's next gate on its evidence; open a review of it, sign "
        "off by role, waive criteria with a reason and decide (the only way a phase changes).",
    ),
    "users": ("phasegate.cli.users", "Users: who signs in, with which role (admin only)."),
    "tokens": (
        "phasegate.cli.users",
        "API tokens: bearer tokens with scopes, shown once when made.",
    ),
}


class LazyGroup(TyperGroup):
    """The root group: lists every command of :data:`COMMANDS`, imports one only to run it."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        loaded = super().list_commands(ctx)
        return [*COMMANDS, *(name for name in loaded if name not in COMMANDS)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            # Enough to list it; resolve_command loads the real one before it runs.
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1])
        return command

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        name = args[0] if args else None
        if name in COMMANDS and name not in self.commands:
            importlib.import_module(COMMANDS[name][0])  # the module adds its commands to ``app``
            self.add_command(typer.main.get_group(app).commands[name], name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=LazyGroup,
    name="phasegate",
    help="New-product introduction for hardware: prototype -> pilot run -> production run.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"phasegate {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """New-product introduction for hardware, decided at stage gates from measured evidence."""


def _register() -> None:
    """Import every command module, so that ``app`` holds every command (``main`` does not)."""
    import phasegate.cli.defects  # noqa: F401
    from phasegate.cli import (  # noqa: F401
        analysis,
        characteristics,
        control_plan,
        costing,
        gates,
        ingest,
        line,
        line_performance,
        measurements,
        records,
        system,
        users,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error becomes one line on stderr and a non-zero exit code."""
    try:
        outcome = app(args=argv, standalone_mode=False)
    except typer.Exit as stop:
        return int(stop.exit_code)
    except typer.Abort:
        _error_line("Aborted.")
        return 1
    except typer.TyperException as usage:  # usage errors: bad option, missing argument, ...
        ctx = getattr(usage, "ctx", None)
        prefix = f"{ctx.command_path}: " if ctx is not None else ""
        _error_line(f"Error: {prefix}{usage.format_message()}")
        return int(usage.exit_code)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the one place that turns any error into a line and a code
        _error_line(f"Error: {_describe(error)}")
        return exit_code_for(error)
    # Without standalone mode, click returns the code of a ``typer.Exit`` raised in a command
    # (a command that ends with a code of its own, as ``ingest`` does) instead of raising it.
    return outcome if type(outcome) is int else 0


def _error_line(text: str) -> None:
    """One line on stderr, never wrapped to the terminal width."""
    sys.stderr.write(" ".join(text.split()) + "\n")
    sys.stderr.flush()


def _describe(error: BaseException) -> str:
    from phasegate.domain.errors import PhasegateError

    if isinstance(error, PhasegateError | ValueError | FileNotFoundError):
        return str(error)
    name = type(error).__name__
    module = type(error).__module__
    if module.startswith("sqlalchemy"):
        orig = getattr(error, "orig", None)
        detail = str(orig).strip().splitlines()[0] if orig else str(error).splitlines()[0]
        return f"database error: {detail}"
    return f"{name}: {error}"


if __name__ == "__main__":  # pragma: no cover
    # ``python -m phasegate.cli.main``: run the module the command modules register with.
    from phasegate.cli.main import main as package_main

    sys.exit(package_main())
