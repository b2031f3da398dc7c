"""What every parser produces and the ingest service stores: test data as plain, located values.

Each format (OpenHTF records, CSV long and wide, the native JSON document, station-pass and defect
files) is read into a stream of these records, in file order, in bounded batches. A record names
what it refers to by text — the unit by serial, the station by name, a measurement by its name,
a defect by its code — and says where it came from (``where``: ``file:line`` or
``file#/json/pointer``), so a rejection can name the place. A record the parser could not read
at all is a ``Rejected`` with the reason; the good records of the same file go on.

``source_id`` makes sending a record twice harmless: the record's own id where its format has
one (OpenHTF's), otherwise ``derived_source_id`` — a digest of serial, station and start time.
Fields of a record that phasegate has no column for are kept in ``extra``, not dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phasegate.domain.enums import Disposition, Outcome, Severity


def derived_source_id(kind: str, serial: str, station: str | None, started_at: dt.datetime) -> str:
    """A deterministic id for a record whose source gives none: the same unit, station and start
    time always give the same id (``kind`` keeps a test run and a station pass apart)."""
    moment = started_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    text = "\x1f".join((kind, serial.strip().lower(), (station or "").strip().lower(), moment))
    return f"{kind}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a record goes, when its file or request says so: a product key and a build code.

    Without a build the unit's serial finds it (a unit that exists already); a new serial needs
    the build.
    """

    product: str | None = None
    build: str | None = None


@dataclass(frozen=True, slots=True)
class MeasurementIn:
    """One measured value: a number, a text (``text_value``) or a series (``series``, the rows
    of a dimensioned measurement: each the dimension values then the measured value)."""

    name: str
    value: float | None = None
    text_value: str | None = None
    series: tuple[tuple[float, ...], ...] | None = None
    unit: str = ""
    lsl: float | None = None
    usl: float | None = None
    outcome: Outcome = Outcome.UNSET
    marginal: bool = False
    measured_at: dt.datetime | None = None  # the run's start when not given
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AttachmentIn:
    """An attachment's metadata (its bytes stay at the station)."""

    name: str
    mimetype: str = ""
    size: int | None = None
    sha1: str = ""


@dataclass(frozen=True, slots=True)
class TestRunIn:
    """A test run of one unit at one station, with its measurements."""

    __test__ = False  # not a pytest class

    where: str
    serial: str
    started_at: dt.datetime
    outcome: Outcome
    source_id: str
    source: str  # the format: "openhtf", "csv", "json"
    station: str | None = None
    procedure: str = ""
    ended_at: dt.datetime | None = None
    operator: str = ""
    target: Target = Target()
    # A tuple, or columns (``measurement_columns.RunMeasurements``) from a columnar reader.
    measurements: Sequence[MeasurementIn] = ()
    attachments: tuple[AttachmentIn, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StationPassIn:
    """One visit of a unit to a station: its cycle time, its result, its attempt (2+ is rework)."""

    where: str
    serial: str
    station: str
    started_at: dt.datetime
    result: Outcome
    source_id: str
    ended_at: dt.datetime | None = None
    operator: str = ""
    attempt: int = 1
    target: Target = Target()


@dataclass(frozen=True, slots=True)
class DefectIn:
    """A defect found on a unit."""

    where: str
    serial: str
    code: str
    severity: Severity
    found_at: dt.datetime
    source_id: str
    station: str | None = None
    disposition: Disposition = Disposition.PENDING
    cost: float = 0.0
    notes: str = ""
    target: Target = Target()


@dataclass(frozen=True, slots=True)
class Rejected:
    """A part of a file that could not be read into a record: where, why, and what it held."""

    where: str
    reason: str
    raw: str = ""  # the line or the JSON text, cut to a readable length


Parsed = TestRunIn | StationPassIn | DefectIn | Rejected
"""One item of a parser's stream."""

RAW_EXCERPT = 2000
"""The most characters of a rejected line or record kept for its repair."""


def excerpt(raw: str) -> str:
    return raw if len(raw) <= RAW_EXCERPT else raw[:RAW_EXCERPT] + "…"
