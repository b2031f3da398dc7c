"""Gage R&R (AIAG), proportion intervals (Newcombe), yields, DPMO, Pareto and constants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from phasegate import stats
from phasegate.domain.errors import InvalidInput
from phasegate.stats.yields import rolled_throughput_yield_interval


def test_gage_rr_aiag_anova_table(data):
    """Source: AIAG MSA Reference Manual, 4th ed., Table III-B 5 (ANOVA table): SS appraiser
    3.1673, parts 88.3619, appraiser-by-part 0.3590 (F = 0.434), equipment 2.7589, total
    94.6471; MS 1.58363, 9.81799, 0.01994, 0.04598."""
    values, parts, operators = data.aiag
    res = stats.gage_rr(values, parts, operators)
    rows = {row.source: row for row in res.anova}
    assert rows["operator"].ss == pytest.approx(3.1673, abs=5e-5)
    assert rows["part"].ss == pytest.approx(88.3619, abs=5e-5)
    assert rows["part*operator"].ss == pytest.approx(0.3590, abs=5e-5)
    assert rows["repeatability"].ss == pytest.approx(2.7589, abs=5e-5)
    assert rows["total"].ss == pytest.approx(94.6471, abs=5e-5)
    assert rows["operator"].ms == pytest.approx(1.58363, abs=5e-6)
    assert rows["part"].ms == pytest.approx(9.81799, abs=5e-6)
    assert rows["part*operator"].ms == pytest.approx(0.01994, abs=5e-6)
    assert rows["repeatability"].ms == pytest.approx(0.04598, abs=5e-6)
    assert rows["part*operator"].f == pytest.approx(0.434, abs=5e-4)
    assert rows["operator"].f == pytest.approx(79.41, abs=5e-3)
    assert rows["part"].f == pytest.approx(492.29, abs=5e-2)
    assert [rows[s].df for s in ("part", "operator", "part*operator", "repeatability")] == [
        9, 2, 18, 60,
    ]  # fmt: skip


def test_gage_rr_aiag_variance_components(data):
    """Source: AIAG MSA Reference Manual, 4th ed., Table III-B 6 (ANOVA method, interaction
    pooled): EV = 0.200, AV = 0.227, GRR = 0.302, PV = 1.042, TV = 1.085; % of total variation
    18.4, 20.9, 27.9, 96.0; ndc = 4."""
    values, parts, operators = data.aiag
    res = stats.gage_rr(values, parts, operators, tolerance=6.0)
    assert res.interaction_pooled
    assert res.interaction_p > 0.9
    assert res.std_dev("repeatability") == pytest.approx(0.19993, abs=5e-5)
    assert res.std_dev("reproducibility") == pytest.approx(0.22684, abs=5e-5)
    assert res.std_dev("gage_rr") == pytest.approx(0.30237, abs=5e-5)
    assert res.std_dev("part_to_part") == pytest.approx(1.0423, abs=5e-4)
    assert res.std_dev("total") == pytest.approx(1.0853, abs=5e-4)
    assert res.pct_study_var("repeatability") == pytest.approx(18.4, abs=0.05)
    assert res.pct_study_var("reproducibility") == pytest.approx(20.9, abs=0.05)
    assert res.pct_study_var("gage_rr") == pytest.approx(27.9, abs=0.05)
    assert res.pct_study_var("part_to_part") == pytest.approx(96.0, abs=0.05)
    assert res.pct_contribution("gage_rr") == pytest.approx(7.76, abs=0.01)
    assert res.pct_tolerance("gage_rr") == pytest.approx(30.24, abs=0.01)
    assert res.ndc == 4
    assert res.interaction == 0.0
    reduced = {row.source: row for row in res.anova_reduced}
    assert reduced["repeatability"].df == 78


def test_gage_rr_interaction_kept_when_significant():
    rng = np.random.default_rng(4)
    parts = np.repeat(np.arange(10), 6)
    ops = np.tile(np.repeat([0, 1, 2], 2), 10)
    effect = rng.normal(0, 1.0, (10, 3))
    values = parts * 1.0 + effect[parts, ops] + rng.normal(0, 0.05, 60)
    res = stats.gage_rr(values, parts, ops)
    assert not res.interaction_pooled
    assert res.interaction > 0
    assert res.reproducibility == pytest.approx(res.operator + res.interaction)


def test_gage_rr_unbalanced_design_is_rejected(data):
    values, parts, operators = data.aiag
    with pytest.raises(InvalidInput, match="unbalanced"):
        stats.gage_rr(values[:-1], parts[:-1], operators[:-1])


@pytest.mark.parametrize(
    ("k", "n", "wilson_ci", "exact_ci"),
    [
        (81, 263, (0.2553, 0.3662), (0.2527, 0.3676)),
        (15, 148, (0.0624, 0.1605), (0.0578, 0.1617)),
        (0, 20, (0.0, 0.1611), (0.0, 0.1684)),
        (1, 29, (0.0061, 0.1718), (0.0009, 0.1776)),
    ],
)
def test_proportion_intervals_newcombe(k, n, wilson_ci, exact_ci):
    """Source: Newcombe (1998), Statistics in Medicine 17:857-872, Table II, methods 3 (Wilson
    score) and 5 (Clopper-Pearson), 95 % intervals."""
    w = stats.wilson(k, n)
    c = stats.clopper_pearson(k, n)
    assert (round(w.low, 4), round(w.high, 4)) == wilson_ci
    assert (round(c.low, 4), round(c.high, 4)) == exact_ci


def test_one_sided_bounds_equal_two_sided_at_doubled_alpha():
    assert stats.wilson_lower(90, 100, 0.95) == pytest.approx(stats.wilson(90, 100, 0.90).low)
    assert stats.clopper_pearson_lower(90, 100, 0.95) == pytest.approx(
        stats.clopper_pearson(90, 100, 0.90).low
    )


def test_first_pass_yield_and_rty():
    r = stats.first_pass_yield(188, 200)
    assert r.yield_frac == 0.94
    assert r.ci.method == "wilson"
    assert r.lower_bound == pytest.approx(stats.wilson_lower(188, 200))
    cp = stats.first_pass_yield(188, 200, method="clopper-pearson")
    assert cp.ci.low < r.ci.low
    assert stats.rolled_throughput_yield([0.9, 0.95, 0.99]) == pytest.approx(0.84645)
    with pytest.raises(InvalidInput, match="more than the 200 units"):
        stats.first_pass_yield(201, 200)
    with pytest.raises(InvalidInput, match=r"yields\[1\]"):
        stats.rolled_throughput_yield([0.9, 1.2])


def test_dpu_dpmo():
    """Source: the Six Sigma definitions (Breyfogle 2003, Sec. 9): DPMO = 10⁶ D / (U x O);
    exact Poisson limits (Garwood 1936) for D = 0 give [0, 3.689/U] at 95 %."""
    assert stats.dpmo(27, 450, 12).value == pytest.approx(27 / (450 * 12) * 1e6)
    assert stats.dpu(27, 450).value == pytest.approx(0.06)
    zero = stats.dpu(0, 100)
    assert zero.ci.low == 0.0
    assert zero.ci.high == pytest.approx(3.689 / 100, abs=1e-5)
    with pytest.raises(InvalidInput, match="opportunities"):
        stats.dpmo(1, 10, 0)


def test_pareto_shares():
    res = stats.pareto({"scratch": 12, "solder": 40, "missing": 8, "other": 40})
    assert res.categories == ("solder", "other", "scratch", "missing")
    assert res.cumulative_shares[-1] == pytest.approx(1.0)
    assert res.shares.tolist() == pytest.approx([0.4, 0.4, 0.12, 0.08])
    assert res.vital_few(0.8) == ("solder", "other")
    assert res.rows()[0]["cumulative_share"] == pytest.approx(0.4)
    with pytest.raises(InvalidInput, match="all counts are zero"):
        stats.pareto({"a": 0})


@pytest.mark.parametrize(
    ("n", "d2", "d3", "c4", "a2", "d4", "b4"),
    [
        (2, 1.128, 0.853, 0.7979, 1.880, 3.267, 3.267),
        (5, 2.326, 0.864, 0.9400, 0.577, 2.114, 2.089),
        (10, 3.078, 0.797, 0.9727, 0.308, 1.777, 1.716),
        (25, 3.931, 0.708, 0.9896, 0.153, 1.541, 1.435),
    ],
)
def test_constants_match_published_tables(n, d2, d3, c4, a2, d4, b4):
    """Source: Montgomery, ISQC 6th ed., Appendix Table VI, and ASTM E2587 Table 1 (rounded to the
    printed digits; the tables round D4 from rounded d2, d3, hence the looser tolerance there)."""
    k = stats.control_constants(n)
    assert k.d2 == pytest.approx(d2, abs=5e-4)
    assert k.d3 == pytest.approx(d3, abs=5e-4)
    assert k.c4 == pytest.approx(c4, abs=5e-5)
    factors = {"A2": k.A2, "D4": k.D4, "B4": k.B4}
    assert factors == pytest.approx({"A2": a2, "D4": d4, "B4": b4}, abs=1e-3)


def test_constants_exact_closed_forms_and_large_n():
    """d2(2) = 2/√π and d3(2) = √(2 - 4/π) exactly; d2(100) = 5.015 (Harter 1960)."""
    assert stats.d2(2) == pytest.approx(2 / math.sqrt(math.pi), rel=1e-14)
    assert stats.d3(2) == pytest.approx(math.sqrt(2 - 4 / math.pi), rel=1e-14)
    assert stats.d2(100) == pytest.approx(5.015, abs=5e-4)
    assert stats.c4(1000) == pytest.approx(1 - 1 / (4 * 999), abs=1e-6)
    with pytest.raises(InvalidInput, match="integer >= 2"):
        stats.d2(1)


def test_rolled_throughput_yield_interval_bonferroni_product() -> None:
    """Each step's Wilson bound at 1 - 0.05/k, multiplied.

    Source: the Wilson score interval written out from Wilson (1927), JASA 22, 209-212, with
    z from scipy.stats.norm at 1 - alpha/(2k); Bonferroni as in Miller (1981), Ch. 1.
    """
    counts = [(95, 100), (90, 100), (99, 100)]
    z = sps.norm.ppf(1 - 0.05 / (2 * len(counts)))

    def wilson_by_hand(k: int, n: int) -> tuple[float, float]:
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return centre - half, centre + half

    bounds = [wilson_by_hand(k, n) for k, n in counts]
    r = rolled_throughput_yield_interval(counts)
    assert r.yield_frac == pytest.approx(0.95 * 0.90 * 0.99, rel=1e-12)
    assert r.ci.low == pytest.approx(math.prod(b[0] for b in bounds), rel=1e-9)
    assert r.ci.high == pytest.approx(math.prod(b[1] for b in bounds), rel=1e-9)
    assert (r.steps, r.ci.confidence, r.ci.method) == (3, 0.95, "wilson-bonferroni-product")
    with pytest.raises(ValueError, match="counts"):
        rolled_throughput_yield_interval([])
