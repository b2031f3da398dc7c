"""Reading single values the way every format writes them: times, outcomes, severities.

Each function raises ``ValueError`` with a message that names the value; the parsers turn it into
a :class:`~phasegate.ingest.records.Rejected` that names the place.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TypeVar

from phasegate.domain.enums import Disposition, Outcome, Severity

TEST_DATA_FORMAT = "phasegate.test-data/1"
"""The marker of the native JSON document: its ``"format"`` member."""

MAX_FIELD = 65_536
"""The most characters of one CSV field or JSON text value; a longer one rejects its record."""

_OUTCOMES = {
    "pass": Outcome.PASS,
    "passed": Outcome.PASS,
    "ok": Outcome.PASS,
    "fail": Outcome.FAIL,
    "failed": Outcome.FAIL,
    "error": Outcome.ERROR,
    "timeout": Outcome.ERROR,
    "aborted": Outcome.ABORTED,
    "abort": Outcome.ABORTED,
    "unset": Outcome.UNSET,
    "": Outcome.UNSET,
}

_E = TypeVar("_E", Severity, Disposition)

# Epoch seconds beyond this are taken for a mistake (milliseconds given as seconds, say).
_EPOCH_LIMIT = 32_503_680_000.0  # 3000-01-01


def parse_time(value: object) -> dt.datetime:
    """A timezone-aware UTC datetime from ISO 8601 text (with or without zone; naive is UTC)
    or from epoch seconds (a number, or text that is one)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int | float):
        return _from_epoch(float(value), value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a time")
    text = value.strip()
    if not text:
        raise ValueError("the time is empty")
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _from_epoch(number, value)
    try:
        moment = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        raise ValueError(
            f"{_short(value)} is not an ISO 8601 time (2026-03-01T08:30:00Z) or epoch seconds"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _from_epoch(number: float, value: object) -> dt.datetime:
    if not math.isfinite(number) or not 0 <= number < _EPOCH_LIMIT:
        raise ValueError(f"{_short(value)} is not a time in epoch seconds")
    return dt.datetime.fromtimestamp(number, tz=dt.UTC)


def from_millis(value: object, what: str) -> dt.datetime:
    """A UTC datetime from epoch milliseconds (OpenHTF's ``*_time_millis``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} {_short(value)} is not a number of milliseconds")
    return _from_epoch(float(value) / 1000.0, value)


def parse_outcome(value: object) -> Outcome:
    """An outcome from its usual spellings (PASS, passed, ok, FAIL, TIMEOUT = error, ...)."""
    if value is None:
        return Outcome.UNSET
    if isinstance(value, bool):
        return Outcome.PASS if value else Outcome.FAIL
    if not isinstance(value, str):
        raise ValueError(f"{_short(value)} is not an outcome")
    try:
        return _OUTCOMES[value.strip().lower()]
    except KeyError:
        choices = ", ".join(o.value for o in Outcome)
        raise ValueError(f"{_short(value)} is not an outcome ({choices})") from None


def parse_severity(value: object) -> Severity:
    return _choice(Severity, value, "severity")


def parse_disposition(value: object) -> Disposition:
    if value is None or (isinstance(value, str) and not value.strip()):
        return Disposition.PENDING
    return _choice(Disposition, value, "disposition")


def _choice(enum: type[_E], value: object, what: str) -> _E:
    if isinstance(value, str):
        key = value.strip().lower().replace(" ", "_").replace("-", "_")
        for member in enum:
            if member.value == key:
                return member
    choices = ", ".join(m.value for m in enum)
    raise ValueError(f"{_short(value)} is not a {what} ({choices})")


def parse_number(value: object, what: str) -> float:
    """A finite float from a number or its text."""
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"{what} {_short(value)} is not a number") from None
    else:
        raise ValueError(f"{what} {_short(value)} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{what} {_short(value)} is not a finite number")
    return number


def check_span(started_at: dt.datetime, ended_at: dt.datetime | None) -> None:
    """An end before the start is a negative duration: refuse it."""
    if ended_at is not None and ended_at < started_at:
        raise ValueError(
            f"ended_at {ended_at.isoformat()} is before started_at {started_at.isoformat()}"
        )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
