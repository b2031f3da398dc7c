"""Yields on the pages: FPY with its Wilson interval and RTY with a Bonferroni product interval."""

from __future__ import annotations

import pytest

from phasegate.services.read.yields import RTY_METHOD, rolled_yield, station_fpy


def test_station_fpy() -> None:
    assert station_fpy(0, 0) is None  # no first attempt yet
    fpy = station_fpy(81, 263)
    assert fpy is not None and fpy.yield_frac == pytest.approx(81 / 263)
    # Source: Newcombe (1998), Statistics in Medicine 17, 857-872, Table I: 81/263,
    # Wilson score interval 0.2553 to 0.3662.
    assert (fpy.ci.low, fpy.ci.high) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert (fpy.ci.confidence, fpy.ci.method) == (0.95, "wilson")


def test_rolled_yield_of_one_station_is_its_fpy() -> None:
    rty = rolled_yield([(81, 263), (0, 0)])  # the idle station is left out
    assert rty is not None and rty.steps == 1
    assert rty.yield_frac == pytest.approx(81 / 263)
    assert (rty.ci.low, rty.ci.high) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert (rty.ci.confidence, rty.ci.method) == (0.95, RTY_METHOD)


def test_rolled_yield_interval_is_wider_than_the_product_of_95_percent_bounds() -> None:
    stations = [(95, 100), (90, 100), (99, 100)]
    rty = rolled_yield(stations)
    assert rty is not None and rty.steps == 3
    assert rty.yield_frac == pytest.approx(0.95 * 0.90 * 0.99)
    # Each station at 1 - 0.05/3: wider than at 95 %, so the product's bounds enclose the
    # product of the stations' 95 % bounds.
    plain = [station_fpy(ok, n) for ok, n in stations]
    low = high = 1.0
    for fpy in plain:
        assert fpy is not None
        low, high = low * fpy.ci.low, high * fpy.ci.high
    assert rty.ci.low < low < rty.yield_frac < high < rty.ci.high
    assert rolled_yield([]) is None
    assert rolled_yield([(0, 0)]) is None
