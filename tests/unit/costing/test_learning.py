"""Wright's learning curve against textbook values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from phasegate.costing import fit_learning_curve
from phasegate.domain.errors import InvalidInput


def test_doubling_example_80_percent():
    # Source: Heizer & Render, Operations Management, Module E "Learning Curves", the doubling
    # approach: the first unit takes 100,000 labor-hours on an 80 % curve, so units 2, 4, 8
    # and 16 take 80,000, 64,000, 51,200 and 40,960 hours.
    curve = fit_learning_curve([1, 2, 4, 8, 16], [100_000, 80_000, 64_000, 51_200, 40_960])
    assert curve.learning_rate == pytest.approx(0.8, rel=1e-12)
    assert curve.exponent == pytest.approx(math.log2(0.8), rel=1e-12)  # -0.3219
    assert curve.first_unit == pytest.approx(100_000, rel=1e-9)
    assert curve.r_squared == pytest.approx(1.0)
    assert curve.predict(32) == pytest.approx(32_768, rel=1e-9)


def test_unit_coefficients_of_the_80_percent_table():
    # Source: the learning-curve coefficient tables of operations-management texts (e.g.
    # Stevenson, Operations Management, Table 7S.1, "unit time" column, 80 %): unit 3 0.702,
    # unit 5 0.596, unit 10 0.477, unit 20 0.381 (three decimals).
    curve = fit_learning_curve([1, 2, 4, 8], [1.0, 0.8, 0.64, 0.512])
    for unit, coefficient in [(3, 0.702), (5, 0.596), (10, 0.477), (20, 0.381)]:
        assert curve.predict(unit) == pytest.approx(coefficient, abs=5e-4)


def test_noisy_fit_agrees_with_an_ordinary_regression_on_logs():
    # Cross-check with scipy.stats.linregress on ln x, ln y: same slope, intercept, standard
    # error of the slope; the band is the regression's confidence band of the mean.
    rng = np.random.default_rng(7)
    x = np.arange(1, 201, dtype=float)
    y = 60.0 * x ** math.log2(0.85) * np.exp(rng.normal(0, 0.05, x.size))
    curve = fit_learning_curve(x, y)
    ref = stats.linregress(np.log(x), np.log(y))
    assert curve.exponent == pytest.approx(ref.slope, rel=1e-9)
    assert math.log(curve.first_unit) == pytest.approx(ref.intercept, rel=1e-9)
    assert curve.exponent_se == pytest.approx(ref.stderr, rel=1e-9)
    assert curve.learning_rate == pytest.approx(0.85, abs=0.01)
    t = stats.t.ppf(0.975, 198)
    ci = curve.learning_rate_ci()
    assert ci.low == pytest.approx(2 ** (ref.slope - t * ref.stderr), rel=1e-9)
    assert ci.low < curve.learning_rate < ci.high
    near, far = curve.band(100), curve.band(100_000)
    assert near.low < curve.predict(100) < near.high
    # Extrapolated far from the data, the band is wider (relative to the prediction).
    assert (far.high - far.low) / curve.predict(100_000) > (near.high - near.low) / curve.predict(
        100
    )


@pytest.mark.parametrize(
    ("units", "values", "field"),
    [
        ([1, 2], [1.0, 0.9], "units"),
        ([1, 1, 1], [1.0, 0.9, 0.8], "units"),
        ([0, 1, 2], [1.0, 0.9, 0.8], "units[0]"),
        ([1, 2, 3], [1.0, -0.9, 0.8], "values[1]"),
        ([1, 2, 3], [1.0, float("nan"), 0.8], "values[1]"),
        ([1, 2, 3], [1.0, 0.9], "values"),
    ],
)
def test_bad_input_names_the_field(units, values, field):
    with pytest.raises(InvalidInput) as error:
        fit_learning_curve(units, values)
    assert error.value.fields[0].loc == field


@settings(max_examples=80, deadline=None)
@given(
    st.floats(0.01, 1e5),
    st.floats(0.6, 1.0),
    st.integers(3, 300),
)
def test_fit_recovers_an_exact_power_law(first, rate, n):
    x = np.arange(1, n + 1, dtype=float)
    curve = fit_learning_curve(x, first * x ** math.log2(rate))
    assert curve.learning_rate == pytest.approx(rate, rel=1e-9)
    assert curve.first_unit == pytest.approx(first, rel=1e-9)
    assert curve.residual_sd == pytest.approx(0.0, abs=1e-9)
