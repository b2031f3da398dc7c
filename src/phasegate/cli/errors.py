"""The CLI's one table from domain errors to exit codes: 1 for a failure, 2 for bad input."""

from __future__ import annotations

from phasegate.domain.errors import (
    ConfigurationError,
    Conflict,
    GateBlocked,
    InvalidInput,
    NotFound,
    PhasegateError,
    Unavailable,
)

EXIT_CODES: dict[type[PhasegateError], int] = {
    InvalidInput: 2,
    NotFound: 1,
    Conflict: 1,
    GateBlocked: 1,
    Unavailable: 1,
    ConfigurationError: 1,
}


def exit_code_for(error: BaseException) -> int:
    """Exit code for an error that reached the top of a command."""
    for kind, code in EXIT_CODES.items():
        if isinstance(error, kind):
            return code
    if isinstance(error, ValueError | FileNotFoundError):
        return 2
    return 1
