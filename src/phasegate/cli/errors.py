"""The CLI's one table from domain errors to exit codes: 1 for a failure, 2 for bad input."""

from __future__ import annotations

import re
from collections.abc import Mapping

from phasegate.domain.errors import (
    ConfigurationError,
    Conflict,
    FieldError,
    Forbidden,
    GateBlocked,
    InvalidInput,
    NotFound,
    PhasegateError,
    PreconditionFailed,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)

EXIT_CODES: dict[type[PhasegateError], int] = {
    InvalidInput: 2,
    NotFound: 1,
    PreconditionFailed: 1,
    Conflict: 1,
    GateBlocked: 1,
    Unavailable: 1,
    ConfigurationError: 1,
    Unauthenticated: 1,
    Forbidden: 1,
    TooManyAttempts: 1,
}


def exit_code_for(error: BaseException) -> int:
    """Exit code for an error that reached the top of a command."""
    for kind, code in EXIT_CODES.items():
        if isinstance(error, kind):
            return code
    if isinstance(error, ValueError | FileNotFoundError):
        return 2
    return 1


_QUOTED_NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def with_flags(error: InvalidInput, flags: Mapping[str, str]) -> InvalidInput:
    """``error`` with the service's parameter names replaced by the flags that set them.

    ``flags`` is a command group's table from parameter name to how the command line spells
    it: the flag, with its metavar where that helps (``{"subgroup_size": "--subgroup-size N"}``).
    A field's ``loc`` made only of such names (``"lsl/usl"`` included) becomes the flags alone;
    a name a message quotes in backquotes becomes the full spelling. Other locations (a file,
    line and column) stay as they are.
    """

    def loc(text: str) -> str:
        parts = text.split("/")
        if not all(p in flags for p in parts):
            return text
        return "/".join(flags[p].split()[0] for p in parts)

    def prose(text: str) -> str:
        return _QUOTED_NAME.sub(lambda m: flags.get(m[1], m[1]), text)

    fields = [FieldError(loc(f.loc), prose(f.message)) for f in error.fields]
    if len(fields) == 1 and error.message == f"{error.fields[0].loc}: {error.fields[0].message}":
        message = f"{fields[0].loc}: {fields[0].message}"
    else:
        message = prose(error.message)
    return InvalidInput(message, fields)
