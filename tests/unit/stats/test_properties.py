"""Property-based checks: invariances and inequalities that must hold for any data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from phasegate import stats

SETTINGS = settings(max_examples=40, deadline=None)

subgroups = arrays(
    np.float64,
    st.tuples(st.integers(5, 20), st.integers(2, 6)),
    elements=st.floats(-100, 100, allow_nan=False, allow_infinity=False),
)


def _spread_ok(x: np.ndarray) -> bool:
    return bool(np.ptp(x) > 1e-3 and np.ptp(x, axis=1).mean() > 1e-3)


@SETTINGS
@given(
    subgroups,
    st.floats(-1e3, 1e3),
    st.floats(0.01, 100.0),
    st.floats(0.05, 0.95),
)
def test_capability_invariant_under_shift_and_scale(x, shift, scale, where):
    """Indices, intervals and ppm do not change when data and limits are moved and scaled
    together (Kotz and Johnson, Process Capability Indices, 1993, Sec. 2.2)."""
    assume(_spread_ok(x))
    lo, hi = x.min() - 1.0, x.max() + 1.0
    target = lo + where * (hi - lo)
    a = stats.capability(x, lsl=lo, usl=hi, target=target)
    b = stats.capability(
        x * scale + shift, lsl=lo * scale + shift, usl=hi * scale + shift,
        target=target * scale + shift,
    )  # fmt: skip
    for name in ("cp", "cpk", "cpl", "cpu", "cpm", "pp", "ppk"):
        assert b.index(name) == pytest.approx(a.index(name), rel=1e-6)
        assert b.lower_bounds[name] == pytest.approx(a.lower_bounds[name], rel=1e-6, abs=1e-9)
    assert b.ppm.expected_below == pytest.approx(a.ppm.expected_below, rel=1e-5, abs=1e-6)


@SETTINGS
@given(subgroups, st.floats(-50, 50), st.floats(0.1, 50))
def test_cpk_never_exceeds_cp(x, center, half_width):
    assume(_spread_ok(x))
    res = stats.capability(x, lsl=center - half_width, usl=center + half_width)
    assert res.cpk <= res.cp + 1e-12
    assert res.ppk <= res.pp + 1e-12
    assert res.cpm <= res.pp + 1e-12
    assert res.ci["cpk"].low <= res.cpk <= res.ci["cpk"].high


@SETTINGS
@given(subgroups)
def test_xbar_limits_symmetric_about_center(x):
    assume(_spread_ok(x))
    for res in (stats.xbar_r(x), stats.xbar_s(x)):
        p = res.primary
        assert p.ucl - p.center_line == pytest.approx(p.center_line - p.lcl)
        assert p.upper_limit - p.center == pytest.approx(p.center - p.lower_limit)
        assert (res.secondary.lcl >= 0).all()


@SETTINGS
@given(
    st.lists(st.integers(1, 400), min_size=3, max_size=30).flatmap(
        lambda sizes: st.tuples(st.just(sizes), st.tuples(*(st.integers(0, n) for n in sizes)))
    )
)
def test_p_chart_limits_symmetric_unless_clipped(case):
    sizes, counts = case
    assume(sum(counts) > 0)
    p = stats.p_chart(list(counts), sizes).primary
    half = 3 * np.sqrt(p.center * (1 - p.center) / np.asarray(sizes))
    assert p.ucl == pytest.approx(np.minimum(1.0, p.center + half))
    assert p.lcl == pytest.approx(np.maximum(0.0, p.center - half))
    assert ((p.lcl >= 0) & (p.ucl <= 1)).all()


@SETTINGS
@given(st.integers(2, 60))
def test_constants_relations(n):
    k = stats.control_constants(n)
    a2, d3_factor, d4_factor = k.A2, k.D3, k.D4
    assert a2 == pytest.approx(3 / (k.d2 * np.sqrt(n)))
    assert d3_factor + d4_factor == pytest.approx(2.0) or d3_factor == 0.0
    assert 0 < k.c4 < 1
    assert k.B4 > 1


@SETTINGS
@given(st.integers(0, 60), st.integers(1, 60), st.floats(0.5, 0.999))
def test_proportion_intervals_contain_estimate(k, extra, conf):
    n = k + extra
    for ci in (stats.wilson(k, n, conf), stats.clopper_pearson(k, n, conf)):
        assert 0.0 <= ci.low <= k / n <= ci.high <= 1.0


@SETTINGS
@given(st.integers(0, 8), st.integers(9, 30))
def test_shift_detected_by_rule_1_and_2(start, length):
    """A sustained shift of 4 sigma inside an otherwise constant series trips rule 1 at once and
    rule 2 after nine points."""
    z = np.zeros(start + length)
    z[start:] = 4.0
    v = stats.check_rules(z, "nelson:1,2")
    assert v.points(1)[0] == start
    assert v.points(2)[0] == start + 8
