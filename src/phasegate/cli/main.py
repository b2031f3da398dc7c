"""The ``phasegate`` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import sys

import typer

from phasegate import __version__
from phasegate.cli.errors import exit_code_for

app = typer.Typer(
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
    # Command modules add themselves to ``app``; imported here so ``app`` is complete.
    from phasegate.cli import analysis, records, system, users  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error becomes one line on stderr and a non-zero exit code."""
    _register()
    try:
        app(args=argv, standalone_mode=False)
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
    return 0


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
    sys.exit(main())
