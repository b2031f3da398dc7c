"""Control charts against published worked examples (each test names its source)."""

from __future__ import annotations

import numpy as np
import pytest

from phasegate import stats
from phasegate.domain.errors import InvalidInput


def test_xbar_r_hard_bake_montgomery_example_6_1(data):
    """Source: Montgomery, ISQC 6th ed., Example 6.1: x̿ = 1.5056, R̄ = 0.32521,
    X̄ limits 1.3180 / 1.6932, R chart UCL 0.68749 (D4 = 2.114), in control."""
    res = stats.xbar_r(data.hard_bake)
    assert res.primary.center == pytest.approx(1.5056, abs=5e-5)
    assert res.secondary.center == pytest.approx(0.32521, abs=5e-6)
    assert res.primary.upper_limit == pytest.approx(1.6932, abs=5e-5)
    assert res.primary.lower_limit == pytest.approx(1.3180, abs=5e-5)
    # the book multiplies by the rounded D4 = 2.114; the exact D4(5) is 2.11450
    assert res.secondary.upper_limit == pytest.approx(0.68749, rel=3e-4)
    assert res.secondary.lower_limit == 0.0
    assert not res.primary.out_of_control().any()
    assert not res.secondary.out_of_control().any()
    assert res.primary.sigma == pytest.approx(0.1398, abs=5e-5)


def test_xbar_r_piston_rings_phase_1_and_2(data):
    """Source: Montgomery, ISQC 6th ed., Sec. 6.2.1 (Tables 6.3, 6.4): phase I on the first 25
    samples gives x̿ = 74.001, R̄ = 0.023, UCL = 74.014, LCL = 73.988, R UCL = 0.049; in phase II
    samples 37, 38 and 39 plot above the UCL. The book's R UCL = 2.114 x 0.023 uses the rounded
    R̄; unrounded (R qcc, pistonrings): R̄ = 0.02276, UCL_R = 0.04812, X̄ limits 73.98805/74.0143."""
    res = stats.xbar_r(data.piston_rings, phase1=25)
    assert res.primary.center == pytest.approx(74.001, abs=5e-4)
    assert res.secondary.center == pytest.approx(0.023, abs=5e-4)
    assert res.primary.upper_limit == pytest.approx(74.014, abs=5e-4)
    assert res.primary.lower_limit == pytest.approx(73.988, abs=5e-4)
    assert res.secondary.upper_limit == pytest.approx(0.04812, abs=1e-5)
    assert res.primary.upper_limit == pytest.approx(74.0143, abs=5e-5)
    assert res.primary.lower_limit == pytest.approx(73.98805, abs=5e-6)
    beyond = np.flatnonzero(res.primary.violations.flags & 1) + 1
    assert beyond.tolist() == [37, 38, 39]
    assert res.phase2().sum() == 15
    assert res.reference.sum() == 25


def test_xbar_s_piston_rings_montgomery_example_6_3(data):
    """Source: Montgomery, ISQC 6th ed., Example 6.3: X̄ limits 73.988 / 74.014 and S chart
    LCL = 0 (B3(5) = 0). The book prints s̄ = 0.0094 and UCL_S = 0.0196; this transcription of the
    data (R qcc, pistonrings) gives s̄ = 0.00924, so those two are checked as B4·s̄ only."""
    res = stats.xbar_s(data.piston_rings, phase1=25)
    assert res.primary.upper_limit == pytest.approx(74.014, abs=5e-4)
    assert res.primary.lower_limit == pytest.approx(73.988, abs=5e-4)
    sbar = float(np.mean(np.std(np.array(data.piston_rings[:25]), axis=1, ddof=1)))
    assert res.secondary.center == pytest.approx(sbar, rel=1e-12)
    assert res.secondary.upper_limit == pytest.approx(stats.control_constants(5).B4 * sbar)
    assert res.secondary.lower_limit == 0.0


def test_xbar_s_variable_sizes_limits_per_point(data):
    """Variable subgroup sizes: limits per point are x̿ ± 3σ̂/√n_i and c4(n_i)σ̂ ± 3σ̂√(1-c4²);
    with equal sizes they reduce to the A3/B3/B4 table limits (Montgomery, Sec. 6.3.2)."""
    rows = [row[:k] for row, k in zip(data.piston_rings[:25], [5, 3, 4] * 8 + [5], strict=True)]
    flat = [v for row in rows for v in row]
    sizes = [len(r) for r in rows]
    res = stats.xbar_s(flat, sizes)
    p, s = res.primary, res.secondary
    assert p.limits_vary()
    sigma = p.sigma
    for i, n in enumerate(sizes):
        c4 = stats.c4(n)
        assert p.ucl[i] == pytest.approx(p.center + 3 * sigma / np.sqrt(n), rel=1e-12)
        assert s.center_line[i] == pytest.approx(c4 * sigma, rel=1e-12)
        assert s.ucl[i] == pytest.approx(c4 * sigma + 3 * sigma * np.sqrt(1 - c4 * c4), rel=1e-12)
    equal = stats.xbar_s(data.piston_rings[:25])
    k = stats.control_constants(5)
    sbar = equal.secondary.center
    assert equal.primary.upper_limit == pytest.approx(equal.primary.center + k.A3 * sbar)
    assert equal.secondary.upper_limit == pytest.approx(k.B4 * sbar)


def test_xbar_r_ragged_input_matches_2d(data):
    flat = [v for row in data.hard_bake for v in row]
    a = stats.xbar_r(data.hard_bake)
    b = stats.xbar_r(flat, [5] * 25)
    assert b.primary.center == pytest.approx(a.primary.center)
    assert b.secondary.center == pytest.approx(a.secondary.center)


def test_imr_nist_flowrate():
    """Source: NIST/SEMATECH e-Handbook, Sec. 6.3.2.2: mean 50.81, MR̄ = 1.8778, I limits
    45.8159 / 55.8041, MR UCL 6.1349 (computed there with the rounded d2 = 1.128, D4 = 3.267)."""
    res = stats.imr([49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1])
    assert res.primary.center == pytest.approx(50.81, abs=5e-3)
    assert res.secondary.center == pytest.approx(1.8778, abs=5e-5)
    assert res.primary.upper_limit == pytest.approx(55.8041, rel=5e-5)
    assert res.primary.lower_limit == pytest.approx(45.8159, rel=5e-5)
    assert res.secondary.upper_limit == pytest.approx(6.1349, rel=3e-4)
    assert res.secondary.first_point == 1
    assert res.secondary.count == 9


def test_p_chart_orange_juice(data):
    """Source: Montgomery, ISQC 6th ed., Example 7.1 and NIST e-Handbook 6.3.3.2: p̄ = 0.2313,
    UCL = 0.4102, LCL = 0.0524; samples 15 and 23 are above the UCL."""
    res = stats.p_chart(data.orange_juice, [50] * 30)
    assert res.primary.center == pytest.approx(0.2313, abs=5e-5)
    assert res.primary.upper_limit == pytest.approx(0.4102, abs=5e-5)
    assert res.primary.lower_limit == pytest.approx(0.0524, abs=5e-5)
    assert (np.flatnonzero(res.primary.out_of_control()) + 1).tolist() == [15, 23]


def test_p_chart_varying_sizes_limits_per_point():
    """Source: Montgomery, ISQC 6th ed., Sec. 7.2.2: p̄ ± 3√(p̄(1-p̄)/n_i) for each sample."""
    counts, sizes = [12, 8, 6, 9, 10], [100, 80, 80, 100, 110]
    res = stats.p_chart(counts, sizes)
    pbar = sum(counts) / sum(sizes)
    for i, n in enumerate(sizes):
        half = 3 * np.sqrt(pbar * (1 - pbar) / n)
        assert res.primary.ucl[i] == pytest.approx(pbar + half)
        assert res.primary.lcl[i] == pytest.approx(max(0.0, pbar - half))
    assert res.primary.limits_vary()


def test_np_chart_orange_juice(data):
    """Source: Montgomery, ISQC 6th ed., Sec. 7.2.1: np̄ = 50(0.2313) = 11.57, limits
    np̄ ± 3√(np̄(1-p̄)) = 2.62 / 20.51."""
    res = stats.np_chart(data.orange_juice, [50] * 30)
    assert res.primary.center == pytest.approx(11.57, abs=5e-3)
    assert res.primary.upper_limit == pytest.approx(20.51, abs=5e-3)
    assert res.primary.lower_limit == pytest.approx(2.62, abs=5e-3)


def test_c_chart_nist_wafers(data):
    """Source: NIST/SEMATECH e-Handbook, Sec. 6.3.3.1: c̄ = 16, UCL = 28, LCL = 4."""
    res = stats.c_chart(data.nist_wafer_defects)
    assert res.primary.center == pytest.approx(16.0)
    assert res.primary.upper_limit == pytest.approx(28.0)
    assert res.primary.lower_limit == pytest.approx(4.0)


def test_c_chart_circuit_boards(data):
    """Source: Montgomery, ISQC 6th ed., Example 7.3: c̄ = 19.85, UCL = 33.22, LCL = 6.48 (the book
    computes the limits from the rounded c̄); samples 6 and 20 are outside the limits."""
    res = stats.c_chart(data.circuit_boards)
    assert res.primary.center == pytest.approx(19.85, abs=5e-3)
    assert res.primary.upper_limit == pytest.approx(33.22, abs=1.5e-2)
    assert res.primary.lower_limit == pytest.approx(6.48, abs=1.5e-2)
    assert (np.flatnonzero(res.primary.out_of_control()) + 1).tolist() == [6, 20]


def test_c_chart_iterative_exclusion(data):
    """Source: Montgomery, ISQC 6th ed., Example 7.3: after removing samples 6 and 20 the revised
    limits are c̄ = 19.67, UCL = 32.97, LCL = 6.36."""
    res = stats.c_chart(data.circuit_boards, exclude_out_of_control=True)
    assert res.excluded == (5, 19)
    assert res.primary.center == pytest.approx(19.67, abs=5e-3)
    assert res.primary.upper_limit == pytest.approx(32.97, abs=5e-3)
    assert res.primary.lower_limit == pytest.approx(6.36, abs=5e-3)
    assert res.iterations == 2


def test_u_chart_computers(data):
    """Source: Montgomery, ISQC 6th ed., Example 7.5: ū = 1.93, UCL = 3.79, LCL = 0.07."""
    res = stats.u_chart(data.computers, [5] * 20)
    assert res.primary.center == pytest.approx(1.93)
    assert res.primary.upper_limit == pytest.approx(3.79, abs=5e-3)
    assert res.primary.lower_limit == pytest.approx(0.07, abs=5e-3)


def test_cusum_montgomery_example_9_1(data):
    """Source: Montgomery, ISQC 6th ed., Example 9.1 / Table 9.2 (k = 0.5, h = 5, mu0 = 10,
    sigma = 1): C+ reaches 5.28 at sample 29 and 5.30 at 30, the first signals; C-_2 = 1.56."""
    res = stats.cusum(data.table_9_1, k=0.5, h=5, target=10, sigma=1)
    upper, lower = res.primary.upper, res.primary.lower
    assert upper[28] == pytest.approx(5.28, abs=5e-3)
    assert upper[29] == pytest.approx(5.30, abs=5e-3)
    assert upper[3] == pytest.approx(1.16, abs=5e-3)
    assert -lower[1] == pytest.approx(1.56, abs=5e-3)
    assert (np.flatnonzero(res.primary.signals()) + 1).tolist() == [29, 30]
    assert res.primary.upper_limit == 5 and res.primary.lower_limit == -5


def test_cusum_headstart_and_closed_form_match_recursion():
    rng = np.random.default_rng(3)
    x = rng.normal(0.3, 1, 500)
    res = stats.cusum(x, k=0.5, h=4, target=0, sigma=1, headstart=2)
    cp = cm = 2.0
    for i, v in enumerate(x):
        cp = max(0.0, v - 0.5 + cp)
        cm = max(0.0, -v - 0.5 + cm)
        assert res.primary.upper[i] == pytest.approx(cp)
        assert res.primary.lower[i] == pytest.approx(-cm)


def test_ewma_montgomery_example_9_2(data):
    """Source: Montgomery, ISQC 6th ed., Example 9.2 (lambda = 0.1, L = 2.7, mu0 = 10,
    sigma = 1): z1 = 9.945, z2 = 9.7495; limits 9.73 / 10.27 at period 1, 9.64 / 10.36 at
    period 2, asymptotically 9.38 / 10.62; the chart first signals at sample 29."""
    res = stats.ewma(data.table_9_1, lam=0.1, nsigmas=2.7, target=10, sigma=1)
    p = res.primary
    assert p.values[0] == pytest.approx(9.945)
    assert p.values[1] == pytest.approx(9.7495)
    assert p.ucl[0] == pytest.approx(10.27, abs=5e-3)
    assert p.lcl[0] == pytest.approx(9.73, abs=5e-3)
    assert p.ucl[1] == pytest.approx(10.36, abs=5e-3)
    assert p.lcl[1] == pytest.approx(9.64, abs=5e-3)
    assert p.upper_limit == pytest.approx(10.62, abs=5e-3)
    assert p.lower_limit == pytest.approx(9.38, abs=5e-3)
    assert int(np.flatnonzero(p.signals())[0]) + 1 == 29


def test_ewma_nist_example(data):
    """Source: NIST/SEMATECH e-Handbook, Sec. 6.3.2.4: EWMA_0 = 50, lambda = 0.3, s = 2.0539;
    UCL = 52.5884, LCL = 47.4115 and the EWMA values 50.60, 49.52, ..., 51.99."""
    res = stats.ewma(data.nist_ewma, lam=0.3, nsigmas=3, target=50, sigma=2.0539)
    published = [
        50.60, 49.52, 50.56, 50.18, 50.16, 49.21, 49.75, 49.85, 50.26, 50.33, 50.11, 49.36,
        49.52, 50.05, 49.38, 49.92, 50.73, 51.23, 51.94, 51.99,
    ]  # fmt: skip
    assert np.round(res.primary.values, 2).tolist() == published
    assert res.primary.upper_limit == pytest.approx(52.5884, abs=1e-4)
    assert res.primary.lower_limit == pytest.approx(47.4115, abs=1.5e-4)
    # exact limits start narrow and approach the asymptotic ones
    assert res.primary.ucl[0] < res.primary.ucl[-1] < res.primary.upper_limit + 1e-12


def test_phase1_reference_mask_equals_count(data):
    a = stats.xbar_r(data.piston_rings, phase1=25)
    mask = np.arange(40) < 25
    b = stats.xbar_r(data.piston_rings, reference=mask)
    assert a.primary.center == b.primary.center
    assert a.primary.upper_limit == b.primary.upper_limit


def test_known_standards_override_estimates(data):
    res = stats.xbar_r(data.hard_bake, center=1.5, sigma=0.15)
    assert res.primary.center == 1.5
    assert res.primary.upper_limit == pytest.approx(1.5 + 3 * 0.15 / np.sqrt(5))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: stats.xbar_r([[1.0, np.nan], [2.0, 3.0]]), r"data\[0, 1\]: NaN"),
        (lambda: stats.imr([1.0, np.inf, 2.0]), r"values\[1\]: infinity"),
        (lambda: stats.imr([]), "empty"),
        (lambda: stats.xbar_r([[1.0, 2.0]]), "at least 2"),
        (lambda: stats.p_chart([3, 60], [50, 50]), r"counts\[1\]: 60 nonconforming"),
        (lambda: stats.p_chart([3, 6], [50, 0]), r"sizes\[1\]: sample size must be a positive"),
        (lambda: stats.u_chart([3, -1], [5, 5]), r"counts\[1\]: count must be"),
        (lambda: stats.xbar_r([[1.0, 2.0], [2.0, 3.0]], phase1=5), "phase1"),
        (lambda: stats.c_chart([1, 2, 3], [1, 2, 1]), "u chart"),
        (lambda: stats.ewma([1.0, 2.0, 3.0], lam=0), "lambda"),
        (lambda: stats.cusum([1.0, 2.0, 3.0], h=-1), "h: must be a positive"),
        (lambda: stats.xbar_r([1.0, 2.0, 3.0], [2, 2]), "add up to 4"),
    ],
)
def test_bad_input_names_the_value(call, message):
    with pytest.raises(InvalidInput, match=message):
        call()


def test_exclusion_reports_and_refuses_to_empty_reference():
    values = np.random.default_rng(7).normal(10.0, 1.0, (25, 5))
    values[6] += 6.0
    res = stats.xbar_r(values, exclude_out_of_control=True)
    assert res.excluded == (6,)
    assert not res.reference[6]
    assert res.primary.out_of_control()[6]
    clean = stats.xbar_r(np.delete(values, 6, axis=0))
    assert res.primary.center == pytest.approx(clean.primary.center)
    with pytest.raises(InvalidInput, match="leaves"):
        stats.xbar_r([[1.0, 1.1], [100.0, 100.1], [200.0, 200.3]], exclude_out_of_control=True)
