"""Measurements as columns: the sequence a columnar reader gives, the judging of outcomes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phasegate.domain.enums import Outcome
from phasegate.ingest.measurement_columns import (
    RunMeasurements,
    judge,
    nullable,
    repeated,
    run_outcomes,
)
from phasegate.ingest.records import MeasurementIn

P, F, U, E = Outcome.PASS, Outcome.FAIL, Outcome.UNSET, Outcome.ERROR


def _columns() -> RunMeasurements:
    return RunMeasurements(["a", "b"], [1.0, None], ["V", ""], [0.0, None], [2.0, None], [P, U])


def test_columns_read_as_the_measurements_they_hold() -> None:
    ms = _columns()
    expected = (
        MeasurementIn("a", 1.0, unit="V", lsl=0.0, usl=2.0, outcome=P),
        MeasurementIn("b", None, unit="", outcome=U),
    )
    assert len(ms) == 2
    assert tuple(ms) == expected
    assert ms == expected and expected == ms
    assert ms[-1] == expected[1]
    assert ms[0:1] == expected[:1]
    assert ms != expected[:1]
    with pytest.raises(IndexError):
        ms[2]


def test_columns_of_unequal_length_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        RunMeasurements(["a"], [], [""], [None], [None], [U])


def test_judge_takes_given_outcomes_and_decides_the_rest_inclusively() -> None:
    nan = math.nan
    values = np.array([1.0, 2.0, 2.0001, nan, 5.0, 1.0, 0.5])
    lsl = np.array([0.0, 0.0, 0.0, 0.0, nan, nan, 1.0])
    usl = np.array([2.0, 2.0, 2.0, 2.0, nan, 3.0, nan])
    given = [U, U, U, U, U, F, U]
    assert judge(values, lsl, usl, given) == [P, P, F, U, U, F, F]


def test_run_outcomes_fail_on_one_failure_and_pass_on_one_pass() -> None:
    starts = np.array([0, 2, 4, 5, 5])
    assert run_outcomes([P, U, P, F, U], starts) == [P, F, U, U]
    assert run_outcomes([E, P], np.array([0, 2])) == [P]


def test_helpers_keep_none_and_repeat_per_run() -> None:
    assert nullable(np.array([1.5, math.nan]), np.array([True, False])) == [1.5, None]
    assert repeated(["x", "y", "z"], np.array([0, 2, 2, 3])) == ["x", "x", "z"]
