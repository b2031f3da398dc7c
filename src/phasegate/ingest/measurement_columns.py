"""Measurements held as columns, from the columnar reader to the bulk insert.

A long CSV of a million rows is a million measurements; one Python object each costs more than
parsing and storing them together. So the columnar readers keep a test run's measurements as
columns (:class:`RunMeasurements`: a read-only sequence of ``MeasurementIn`` that makes an object
only when one is asked for), and the ingest service takes the measurements of a whole batch of
runs as arrays (:class:`MeasurementBlock`): one check of every value at NumPy speed, the
characteristic and limits of each name looked up once per name, and the columns handed to the
bulk insert as they are.

The checks are those of one measurement (a named, finite number within ordered limits, with a
storable name and unit); a run with any measurement outside the plain case is checked again one
measurement at a time, so that its rejection names the measurement and why.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter
from typing import Any, overload

import numpy as np

from phasegate.domain.enums import Outcome
from phasegate.domain.text import unstorable_reason
from phasegate.ingest.records import MeasurementIn, TestRunIn

MAX_NAME = 200
MAX_UNIT = 40
MAX_TEXT_VALUE = 400


class RunMeasurements(Sequence[MeasurementIn]):
    """One test run's measurements as columns of equal length: names, values (``None`` for
    none), units, limits (``None`` for none) and outcomes. Indexing or iterating makes each
    ``MeasurementIn`` on demand; it compares equal to any sequence of the same measurements."""

    __slots__ = ("lsl", "names", "outcomes", "units", "usl", "values")

    def __init__(
        self,
        names: list[str],
        values: list[float | None],
        units: list[str],
        lsl: list[float | None],
        usl: list[float | None],
        outcomes: list[Outcome],
    ) -> None:
        n = len(names)
        if not all(len(c) == n for c in (values, units, lsl, usl, outcomes)):
            raise ValueError("the measurement columns of a run must have the same length")
        self.names = names
        self.values = values
        self.units = units
        self.lsl = lsl
        self.usl = usl
        self.outcomes = outcomes

    def __len__(self) -> int:
        return len(self.names)

    def _made(self, a: int, b: int) -> Iterator[MeasurementIn]:
        return map(
            MeasurementIn,
            self.names[a:b],
            self.values[a:b],
            repeat(None),
            repeat(None),
            self.units[a:b],
            self.lsl[a:b],
            self.usl[a:b],
            self.outcomes[a:b],
        )

    @overload
    def __getitem__(self, index: int) -> MeasurementIn: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[MeasurementIn, ...]: ...

    def __getitem__(self, index: int | slice) -> MeasurementIn | tuple[MeasurementIn, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        n = len(self.names)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError("measurement index out of range")
        return next(self._made(i, i + 1))

    def __iter__(self) -> Iterator[MeasurementIn]:
        return self._made(0, len(self.names))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(other) == len(self) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"RunMeasurements({list(self)!r})"


_FIELDS = (
    "name",
    "value",
    "text_value",
    "series",
    "unit",
    "lsl",
    "usl",
    "outcome",
    "marginal",
    "measured_at",
    "extra",
)
_OF = attrgetter(*_FIELDS)


def _floats(values: list[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """The values as float64 (NaN for ``None``) and where a value was given."""
    if None not in values:  # the common cases — all given, or none — cost a scan in C
        given = np.ones(len(values), dtype=bool)
    elif values.count(None) == len(values):
        given = np.zeros(len(values), dtype=bool)
    else:
        given = np.fromiter(map(_is_not_none, values), dtype=bool, count=len(values))
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):  # not a number at all: no float, never plainly good
        array = np.array([_as_float(v) for v in values], dtype=np.float64)
    return array, given


def _is_not_none(value: object) -> bool:
    return value is not None


def _as_float(value: object) -> float:
    return value if isinstance(value, float | int) and not isinstance(value, bool) else math.nan


def _text_ok(value: str, limit: int, required: bool) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= limit
        and (not required or (value != "" and not value[0].isspace() and bool(value.strip())))
        and unstorable_reason(value) is None
    )


def _per_distinct(column: Sequence[Any], good: Callable[[Any], bool]) -> np.ndarray:
    """``good`` of each element, computed once per distinct value."""
    verdict = {v: good(v) for v in set(column)}
    return np.fromiter(map(verdict.__getitem__, column), dtype=bool, count=len(column))


@dataclass(slots=True)
class MeasurementBlock:
    """The measurements of a sequence of test runs, concatenated column by column.

    ``starts`` holds each run's first position and, last, the total (``len(runs) + 1``
    entries). Values and limits are float64 arrays with NaN where none was given (``*_given``
    tells them apart from a NaN given); the other columns are lists.
    """

    starts: np.ndarray
    names: list[str]
    values: np.ndarray
    value_given: np.ndarray
    text_values: list[str | None]
    series: list[tuple[tuple[float, ...], ...] | None]
    units: list[str]
    lsl: np.ndarray
    lsl_given: np.ndarray
    usl: np.ndarray
    usl_given: np.ndarray
    outcomes: list[Outcome]
    marginal: list[bool]
    measured_at: list[dt.datetime | None]
    plain_objects: np.ndarray  # per measurement: no text value, series, own time or extras

    @classmethod
    def of(cls, runs: Sequence[TestRunIn]) -> MeasurementBlock:
        counts = np.fromiter((len(r.measurements) for r in runs), dtype=np.int64, count=len(runs))
        starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        n = int(starts[-1])
        names: list[str] = []
        values: list[float | None] = []
        units: list[str] = []
        lsl: list[float | None] = []
        usl: list[float | None] = []
        outcomes: list[Outcome] = []
        text_values: list[str | None] = [None] * n
        series: list[Any] = [None] * n
        marginal: list[bool] = [False] * n
        measured_at: list[dt.datetime | None] = [None] * n
        plain = np.ones(n, dtype=bool)
        for i, run in enumerate(runs):
            ms = run.measurements
            if isinstance(ms, RunMeasurements):
                names += ms.names
                values += ms.values
                units += ms.units
                lsl += ms.lsl
                usl += ms.usl
                outcomes += ms.outcomes
                continue
            a = int(starts[i])
            for j, f in enumerate(map(_OF, ms), a):
                names.append(f[0])
                values.append(f[1])
                units.append(f[4])
                lsl.append(f[5])
                usl.append(f[6])
                outcomes.append(f[7])
                text_values[j], series[j], marginal[j], measured_at[j] = f[2], f[3], f[8], f[9]
                plain[j] = f[2] is None and f[3] is None and f[9] is None and not f[10]
        v, v_given = _floats(values)
        lo, lo_given = _floats(lsl)
        hi, hi_given = _floats(usl)
        return cls(
            starts,
            names,
            v,
            v_given,
            text_values,
            series,
            units,
            lo,
            lo_given,
            hi,
            hi_given,
            outcomes,
            marginal,
            measured_at,
            plain,
        )

    def __len__(self) -> int:
        return len(self.names)

    def plainly_good_runs(self) -> np.ndarray:
        """Per run: is every measurement of it plainly good — a storable name and unit, no
        text value, series, time or extras of its own, a finite value or none, finite limits
        in order? (Empty runs are.) The others need :func:`measurement_problem` one by one."""
        n = len(self.names)
        if n == 0:
            return np.ones(len(self.starts) - 1, dtype=bool)
        good = self.plain_objects.copy()
        good &= _per_distinct(self.names, lambda s: _text_ok(s, MAX_NAME, True))
        good &= _per_distinct(self.units, lambda s: _text_ok(s, MAX_UNIT, False))
        for array, given in (
            (self.values, self.value_given),
            (self.lsl, self.lsl_given),
            (self.usl, self.usl_given),
        ):
            good &= ~given | np.isfinite(array)
        both = self.lsl_given & self.usl_given
        good &= ~both | (np.where(both, self.lsl, 0.0) <= np.where(both, self.usl, 0.0))
        return _all_per_run(good, self.starts)

    def take(self, runs: Sequence[int]) -> MeasurementBlock:
        """The block of the given runs (positions in this block), in that order."""
        idx = np.array(runs, dtype=np.int64)
        if len(idx) == len(self.starts) - 1 and bool((idx == np.arange(len(idx))).all()):
            return self
        a, b = self.starts[idx], self.starts[idx + 1]
        starts = np.concatenate(([0], np.cumsum(b - a))).astype(np.int64)
        rows = (
            np.concatenate([np.arange(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)])
            if len(idx)
            else np.empty(0, dtype=np.int64)
        )
        pick = rows.tolist()

        def lst(column: list[Any]) -> list[Any]:
            return [column[i] for i in pick]

        return MeasurementBlock(
            starts,
            lst(self.names),
            self.values[rows],
            self.value_given[rows],
            lst(self.text_values),
            lst(self.series),
            lst(self.units),
            self.lsl[rows],
            self.lsl_given[rows],
            self.usl[rows],
            self.usl_given[rows],
            lst(self.outcomes),
            lst(self.marginal),
            lst(self.measured_at),
            self.plain_objects[rows],
        )


def _all_per_run(good: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per run (``starts`` as in ``MeasurementBlock``): are all its elements true?"""
    bad = np.concatenate(([0], np.cumsum(~good)))
    same: np.ndarray = np.equal(bad[starts[1:]], bad[starts[:-1]])
    return same


def is_outcome(outcomes: Sequence[Outcome], which: Outcome) -> np.ndarray:
    """Where ``outcomes`` hold ``which`` (compared in C: an outcome is a string)."""
    array = np.empty(len(outcomes), dtype=object)
    array[:] = outcomes
    found: np.ndarray = np.equal(array, which).astype(bool)
    return found


def judge(
    values: np.ndarray, lsl: np.ndarray, usl: np.ndarray, outcomes: Sequence[Outcome]
) -> list[Outcome]:
    """Each measurement's outcome: as given, or — where none was given (``unset``) and it has a
    numeric value and a limit — ``pass`` within its limits (inclusive) and ``fail`` outside.
    Limits are NaN where there is none."""
    unset = is_outcome(outcomes, Outcome.UNSET)
    limited = ~(np.isnan(lsl) & np.isnan(usl))
    decide = unset & ~np.isnan(values) & limited
    if not decide.any():
        return list(outcomes)
    within = ~(values < lsl) & ~(values > usl)  # a comparison with NaN (no limit) is False
    judged = list(outcomes)
    for i in np.flatnonzero(decide).tolist():
        judged[i] = Outcome.PASS if within[i] else Outcome.FAIL
    return judged


def run_outcomes(outcomes: Sequence[Outcome], starts: np.ndarray) -> list[Outcome]:
    """Per run, from its measurements' outcomes: ``fail`` if one failed, ``pass`` if one passed
    and none failed, else ``unset`` (as a run without an outcome of its own is judged)."""
    failed = is_outcome(outcomes, Outcome.FAIL)
    passed = is_outcome(outcomes, Outcome.PASS)
    any_failed = ~_all_per_run(~failed, starts)
    any_passed = ~_all_per_run(~passed, starts)
    return [
        Outcome.FAIL if f else Outcome.PASS if p else Outcome.UNSET
        for f, p in zip(any_failed.tolist(), any_passed.tolist(), strict=True)
    ]


def measurement_extras(measurements: Sequence[MeasurementIn]) -> dict[str, dict[str, Any]]:
    """The unknown fields of a run's measurements by name (none for columns: they have none)."""
    if isinstance(measurements, RunMeasurements):
        return {}
    return {m.name: dict(m.extra) for m in measurements if m.extra}


def nullable(array: np.ndarray, given: np.ndarray) -> list[float | None]:
    """A float array as a list with ``None`` where no value was given."""
    out = array.astype(object)
    out[~given] = None
    result: list[float | None] = out.tolist()
    return result


def repeated(per_run: Sequence[Any], starts: np.ndarray) -> list[Any]:
    """A value per run repeated for each of its measurements."""
    counts = np.diff(starts).tolist()
    return list(chain.from_iterable(map(repeat, per_run, counts)))
