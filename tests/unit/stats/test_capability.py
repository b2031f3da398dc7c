"""Capability indices, intervals and the non-normal paths against published values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phasegate import stats
from phasegate.domain.errors import InvalidInput


def test_hard_bake_cp_montgomery(data):
    """Source: Montgomery, ISQC 6th ed., Sec. 6.2.1 (hard-bake example): sigma = R̄/d2 =
    0.32521/2.326 = 0.1398 and Cp = (2.00 - 1.00)/(6 x 0.1398) = 1.192."""
    res = stats.capability(data.hard_bake, lsl=1.0, usl=2.0)
    assert res.sigma_within == pytest.approx(0.1398, abs=5e-5)
    assert res.cp == pytest.approx(1.192, abs=5e-4)
    assert res.sigma_method == "rbar"
    assert res.n == 125 and res.subgroups == 25
    assert res.cpk <= res.cp
    assert res.normality is not None and res.normality.normal


def test_piston_ring_capability(data):
    """Source: Montgomery, ISQC 6th ed., Sec. 6.2 (piston rings, spec 74.000 ± 0.05):
    Cp = 0.10/(6 x 0.00978) = 1.70 and Cpk = 1.66 from the phase I samples (cross-checked with
    R qcc process.capability)."""
    res = stats.capability(data.piston_rings[:25], lsl=73.95, usl=74.05, target=74.0)
    assert res.cp == pytest.approx(1.70, abs=5e-3)
    assert res.cpk == pytest.approx(1.66, abs=5e-3)


def test_cp_interval_montgomery():
    """Source: Montgomery, ISQC 6th ed., Sec. 8.3.5 (example with USL = 62, LSL = 38, n = 20,
    s = 1.75, Ĉp = 2.29): 1.57 <= Cp <= 3.01."""
    ci = stats.cp_interval(2.29, 19, 0.95)
    assert round(ci.low, 2) == 1.57
    assert round(ci.high, 2) == 3.01


def test_cpk_interval_montgomery():
    """Source: Montgomery, ISQC 6th ed., Sec. 8.3.5 (n = 20, Ĉpk = 1.33, Bissell's
    approximation): 0.88 <= Cpk <= 1.78."""
    ci = stats.cpk_interval(1.33, 20, 0.95)
    assert round(ci.low, 2) == 0.88
    assert round(ci.high, 2) == 1.78


def test_one_sided_lower_spec_bursting_strength():
    """Source: Montgomery, ISQC 6th ed., Sec. 8.3.1 (bottle bursting strength, LSL = 200 psi,
    x̄ = 264, s = 32): Cpl = (264 - 200)/(3 x 32) = 0.67. Data scaled to exactly that mean and sd."""
    base = np.linspace(-1.0, 1.0, 40)
    values = (base - base.mean()) / base.std(ddof=1) * 32.0 + 264.0
    res = stats.capability(values, lsl=200.0)
    assert res.ppl == pytest.approx(0.6667, abs=5e-5)
    assert res.ppk == res.ppl
    assert math.isnan(res.cp) and math.isnan(res.pp) and math.isnan(res.cpu)
    assert math.isnan(res.cpm)
    assert res.cpk == res.cpl
    assert math.isnan(res.ppm.expected_above) and math.isnan(res.ppm.observed_above)
    assert math.isfinite(res.ci["cpk"].low)


def test_intervals_and_lower_bounds_are_consistent(data):
    res = stats.capability(data.hard_bake, lsl=1.0, usl=2.0, confidence=0.95)
    for name in ("cp", "cpk", "cpl", "cpu", "pp", "ppk", "cpm"):
        ci = res.ci[name]
        value = res.index(name)
        assert ci.low < value < ci.high
        # a one-sided 95 % bound lies inside the two-sided 95 % interval
        assert ci.low < res.lower_bounds[name] < value
    assert res.ci["cpk"].as_list() == [res.ci["cpk"].low, res.ci["cpk"].high]
    # Pp uses n - 1 degrees of freedom; Cp the effective ones of R̄/d2 (Patnaik: 25 d2²/(2 d3²))
    assert res.dof_overall == 124
    assert res.dof_within == pytest.approx(25 * stats.d2(5) ** 2 / (2 * stats.d3(5) ** 2))


def test_sigma_within_methods(data):
    """Source: Minitab, Methods and formulas (Normal Capability Analysis): pooled sd divided by
    c4(d + 1) with d = Σ(n_i - 1); S̄/c4; individuals use MR̄/d2."""
    x = np.array(data.hard_bake)
    sbar = stats.capability(x, lsl=1, usl=2, sigma_within="sbar")
    assert sbar.sigma_within == pytest.approx(x.std(axis=1, ddof=1).mean() / stats.c4(5))
    pooled = stats.capability(x, lsl=1, usl=2, sigma_within="pooled")
    sp = math.sqrt(x.var(axis=1, ddof=1).mean())
    assert pooled.sigma_within == pytest.approx(sp / stats.c4(101))
    assert pooled.dof_within == 100
    ind = stats.capability(x.ravel(), lsl=1, usl=2)
    assert ind.sigma_method == "mr"
    assert ind.sigma_within == pytest.approx(np.abs(np.diff(x.ravel())).mean() / stats.d2(2))


def test_ppm_expected_and_observed():
    values = np.concatenate([np.full(10, 9.0), np.full(80, 10.0), np.full(10, 11.5)])
    res = stats.capability(values, lsl=9.5, usl=11.0)
    assert res.ppm.observed_below == pytest.approx(1e5)
    assert res.ppm.observed_above == pytest.approx(1e5)
    s = values.std(ddof=1)
    from scipy.stats import norm

    assert res.ppm.expected_below == pytest.approx(norm.cdf((9.5 - values.mean()) / s) * 1e6)
    assert res.ppm.expected_above == pytest.approx(norm.sf((11.0 - values.mean()) / s) * 1e6)


def _scaled(n: int, mean: float, sd: float) -> np.ndarray:
    """n evenly spaced values with exactly this mean and sample standard deviation."""
    base = np.linspace(-1.0, 1.0, n)
    return (base - base.mean()) / base.std(ddof=1) * sd + mean


@pytest.mark.parametrize(
    ("mean", "nu", "chi2_025", "chi2_975", "chi2_05"),
    [
        (10.0, 30, 16.791, 46.979, 18.493),  # on target: a = 0, so nu = n = 30
        (10.5, 40, 24.433, 59.342, 26.509),  # a = (x̄ - T)/s = 1: nu = 30 x 4/3 = 40
    ],
)
def test_cpm_boyles_interval_from_chi_square_table(mean, nu, chi2_025, chi2_975, chi2_05):
    """Source: Boyles (1991), J. Quality Technology 23(1), 17-26: Ĉpm = (USL-LSL)/(6√(s² + (x̄-T)²)),
    and nu Ĉpm²/Cpm² is approximately chi-square with nu = n(1+a²)²/(1+2a²), a = (x̄-T)/s, so
    Ĉpm √(χ²_{0.025,nu}/nu) <= Cpm <= Ĉpm √(χ²_{0.975,nu}/nu) and the one-sided 95 % lower bound
    is Ĉpm √(χ²_{0.05,nu}/nu). The chi-square quantiles are the published table values
    (NIST/SEMATECH e-Handbook, Sec. 1.3.6.7.4; Montgomery, ISQC 6th ed., Appendix III), rounded
    to three decimals; n = 30, s = 0.5, specification 8..12, T = 10."""
    res = stats.capability(_scaled(30, mean, 0.5), lsl=8.0, usl=12.0, target=10.0)
    cpm = 4.0 / (6.0 * math.sqrt(0.5**2 + (mean - 10.0) ** 2))
    assert res.cpm == pytest.approx(cpm, rel=1e-12)
    assert res.ci["cpm"].low == pytest.approx(cpm * math.sqrt(chi2_025 / nu), rel=1e-4)
    assert res.ci["cpm"].high == pytest.approx(cpm * math.sqrt(chi2_975 / nu), rel=1e-4)
    assert res.lower_bounds["cpm"] == pytest.approx(cpm * math.sqrt(chi2_05 / nu), rel=1e-4)
    assert res.ci["cpm"].method == "boyles"


def test_cpm_boyles_interval_off_target_random_data():
    """Source: Boyles (1991), J. Quality Technology 23(1), 17-26, as above, for a sample whose
    nu is not a whole number: the bounds computed here with scipy.stats.chi2 from the formula,
    not with the function under test."""
    from scipy.stats import chi2

    rng = np.random.default_rng(11)
    x = rng.normal(10.2, 0.5, 200)
    res = stats.capability(x, lsl=8.0, usl=12.0, target=10.0)
    n, s, m = 200, x.std(ddof=1), x.mean()
    cpm = 4.0 / (6 * math.sqrt(s * s + (m - 10.0) ** 2))
    a2 = ((m - 10.0) / s) ** 2
    nu = n * (1 + a2) ** 2 / (1 + 2 * a2)
    assert 200 < nu < 210  # off target, so more degrees of freedom than values
    assert res.cpm == pytest.approx(cpm, rel=1e-12)
    assert res.ci["cpm"].low == pytest.approx(cpm * math.sqrt(chi2.ppf(0.025, nu) / nu), rel=1e-9)
    assert res.ci["cpm"].high == pytest.approx(cpm * math.sqrt(chi2.isf(0.025, nu) / nu), rel=1e-9)
    assert res.lower_bounds["cpm"] == pytest.approx(
        cpm * math.sqrt(chi2.ppf(0.05, nu) / nu), rel=1e-9
    )


def test_non_normal_data_is_flagged_never_silent():
    rng = np.random.default_rng(5)
    x = rng.lognormal(0.0, 0.6, 400)
    normal = stats.capability(x, lsl=0.05, usl=8.0)
    assert normal.method == "normal"
    assert normal.normality is not None and not normal.normality.normal
    assert any("normality" in w for w in normal.warnings)
    bc = stats.capability(x, lsl=0.05, usl=8.0, method="box-cox")
    assert bc.method == "box-cox"
    assert bc.box_cox_lambda == pytest.approx(0.0, abs=0.15)
    assert bc.normality_transformed is not None and bc.normality_transformed.normal
    assert not any("normality" in w for w in bc.warnings)
    pct = stats.capability(x, lsl=0.05, usl=8.0, method="percentile")
    assert pct.method == "percentile"
    assert math.isnan(pct.cp) and math.isfinite(pct.ppk)
    assert any("percentile" in w for w in pct.warnings)


def test_percentile_method_iso_22514_2():
    """Source: ISO 22514-2 percentile method: Pp = (USL-LSL)/(X99.865 - X0.135) and
    Ppk = min((USL - X50)/(X99.865 - X50), (X50 - LSL)/(X50 - X0.135))."""
    x = np.random.default_rng(9).gamma(3.0, 1.0, 20000)
    res = stats.capability(x, lsl=0.0, usl=20.0, method="percentile")
    lo, med, hi = np.quantile(x, [0.00135, 0.5, 0.99865])
    assert res.pp == pytest.approx(20.0 / (hi - lo))
    assert res.ppk == pytest.approx(min((20.0 - med) / (hi - med), (med - 0.0) / (med - lo)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lsl": 2.0, "usl": 1.0}, r"usl \(1\) must be greater than lsl \(2\)"),
        ({"lsl": 1.0, "usl": 1.0}, "must be greater"),
        ({}, "at least one specification limit"),
        ({"lsl": 0.0, "usl": 3.0, "confidence": 1.5}, "confidence"),
        ({"lsl": 0.0, "usl": 3.0, "target": 5.0}, "above usl"),
        ({"lsl": 0.0, "usl": 3.0, "sigma_within": "sbar"}, "subgrouped"),
        ({"lsl": 0.0, "usl": 3.0, "method": "magic"}, "method"),
    ],
)
def test_bad_capability_input(kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        stats.capability([1.0, 2.0, 1.5, 1.7], **kwargs)


def test_nan_is_rejected_with_position():
    with pytest.raises(InvalidInput, match=r"data\[2\]: NaN"):
        stats.capability([1.0, 2.0, float("nan")], lsl=0, usl=3)


def test_anderson_darling_p_values_at_published_critical_values():
    """Source: D'Agostino & Stephens (1986), Goodness-of-Fit Techniques, Table 4.7 (case 3):
    the modified statistic A*² has upper-tail critical values 0.631 (10 %), 0.752 (5 %),
    0.873 (2.5 %) and 1.035 (1 %); the p-value formulas of Table 4.9 must return those levels."""
    from phasegate.stats.normality import _ad_p_value

    for critical, level in [(0.631, 0.10), (0.752, 0.05), (0.873, 0.025), (1.035, 0.01)]:
        assert _ad_p_value(critical) == pytest.approx(level, rel=0.06)


def test_anderson_darling_statistic_matches_definition():
    """Cross-check of A² with scipy.stats.anderson (same definition, independent code)."""
    from scipy import stats as sps

    x = np.random.default_rng(2).normal(size=300)
    assert stats.anderson_darling(x).statistic == pytest.approx(
        sps.anderson(x, method="interpolate").statistic
    )


def test_normality_subsample_above_limit_is_reported():
    x = np.random.default_rng(8).normal(size=250_001)
    res = stats.anderson_darling(x)
    assert res.subsampled and res.n_total == 250_001 and res.n == 83_334
    full = stats.anderson_darling(x, max_n=None)
    assert full.n == 250_001 and not full.subsampled
    cap = stats.capability(x, lsl=-6, usl=6)
    assert any("subsample of 83,334 of the 250,001 values" in w for w in cap.warnings)
