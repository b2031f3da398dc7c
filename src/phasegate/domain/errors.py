"""The one error family. Services raise these; each adapter translates them in one table."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field: where (``loc``) and why (``message``)."""

    loc: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "message": self.message}


@dataclass(eq=False)
class PhasegateError(Exception):
    """Base of every error the product raises on purpose."""

    message: str
    fields: list[FieldError] = field(default_factory=list)

    kind = "error"

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        return self.message


class NotFound(PhasegateError):
    """The named record does not exist."""

    kind = "not_found"


class InvalidInput(PhasegateError, ValueError):
    """The input breaks a rule; ``fields`` says which field and why."""

    kind = "invalid_input"


class Conflict(PhasegateError):
    """The change collides with existing data (a duplicate key, a stale state)."""

    kind = "conflict"


class PreconditionFailed(Conflict):
    """The change was made against a version of the record that is no longer the current one."""

    kind = "precondition_failed"


class GateBlocked(PhasegateError):
    """A phase change was asked for without a gate decision that allows it."""

    kind = "gate_blocked"


class Unavailable(PhasegateError):
    """The database cannot be reached or refused the work for now; trying again may succeed."""

    kind = "unavailable"


class ConfigurationError(PhasegateError):
    """The installation is set up wrongly (a bad database URL, a schema that needs migrating).

    Not the caller's input: the operator has to fix the configuration.
    """

    kind = "configuration"


def invalid(loc: str, message: str) -> InvalidInput:
    """Shorthand for an ``InvalidInput`` about a single field."""
    return InvalidInput(f"{loc}: {message}", [FieldError(loc, message)])


class Unauthenticated(PhasegateError):
    """Nobody is signed in, or the credentials given are wrong, expired or revoked."""

    kind = "unauthenticated"


class Forbidden(PhasegateError):
    """The signed-in user's role (or the token's scope) does not allow this action."""

    kind = "forbidden"


class TooManyAttempts(PhasegateError):
    """Too many failed sign-ins: the account or the address is locked out for a while."""

    kind = "too_many_attempts"
