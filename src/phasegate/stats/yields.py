"""Yield and defect metrics: FPY, RTY, DPU, DPMO, with confidence intervals where they apply."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from phasegate.domain.errors import invalid
from phasegate.stats._checks import confidence_level, finite_array
from phasegate.stats.intervals import (
    Interval,
    clopper_pearson,
    clopper_pearson_lower,
    wilson,
    wilson_lower,
)

__all__ = [
    "DefectRate",
    "RolledYieldResult",
    "YieldResult",
    "dpmo",
    "dpu",
    "first_pass_yield",
    "rolled_throughput_yield",
    "rolled_throughput_yield_interval",
]

IntervalMethod = Literal["wilson", "clopper-pearson"]
RTY_INTERVAL_METHOD = "wilson-bonferroni-product"  # how ``RolledYieldResult.ci`` is built


@dataclass(frozen=True, slots=True)
class YieldResult:
    """A yield (fraction passing) with its interval and one-sided lower bound.

    Attributes
    ----------
    yield_frac : float
        Point estimate, between 0 and 1.
    passed, units : int
        Counts it was computed from.
    ci : Interval
        Two-sided interval at ``ci.confidence``.
    lower_bound : float
        One-sided lower confidence bound at the same confidence (what a gate compares).
    """

    yield_frac: float
    passed: int
    units: int
    ci: Interval
    lower_bound: float

    def failed(self) -> int:
        return self.units - self.passed


def _count(name: str, value: float) -> int:
    v = float(value)
    if not math.isfinite(v) or v < 0 or v != round(v):
        raise invalid(name, f"must be a non-negative whole number, got {value!r}")
    return int(v)


def first_pass_yield(
    passed_first: int,
    units: int,
    confidence: float = 0.95,
    method: IntervalMethod = "wilson",
) -> YieldResult:
    r"""First-pass yield: share of units that pass every test the first time, without rework.

    Parameters
    ----------
    passed_first : int
        Units that passed at the first attempt.
    units : int
        Units that entered the process step.
    confidence : float, default 0.95
        Confidence level of the interval and of the lower bound.
    method : {"wilson", "clopper-pearson"}, default "wilson"
        Interval for the proportion.

    Returns
    -------
    YieldResult

    Notes
    -----
    :math:`FPY = k/n`; the interval is Wilson's score interval or Clopper-Pearson's exact one
    (see :mod:`phasegate.stats.intervals`).

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 1.4 and 7.2.
    Newcombe, R. G. (1998). *Statistics in Medicine* 17, 857-872.

    Examples
    --------
    >>> r = first_pass_yield(95, 100)
    >>> r.yield_frac, round(r.ci.low, 4)
    (0.95, 0.8882)
    """
    units_n = _count("units", units)
    passed = _count("passed_first", passed_first)
    if units_n == 0:
        raise invalid("units", "no units: yield is undefined")
    if passed > units_n:
        raise invalid("passed_first", f"{passed} passed is more than the {units_n} units")
    conf = confidence_level(confidence)
    if method == "wilson":
        ci, low = wilson(passed, units_n, conf), wilson_lower(passed, units_n, conf)
    elif method == "clopper-pearson":
        ci = clopper_pearson(passed, units_n, conf)
        low = clopper_pearson_lower(passed, units_n, conf)
    else:
        raise invalid("method", f"must be wilson or clopper-pearson, got {method!r}")
    return YieldResult(passed / units_n, passed, units_n, ci, low)


def rolled_throughput_yield(yields: Sequence[float] | ArrayLike) -> float:
    r"""Rolled throughput yield: probability that a unit passes every step first time.

    Parameters
    ----------
    yields : sequence of float
        First-pass yield of each step, each in [0, 1].

    Returns
    -------
    float
        :math:`RTY = \prod_i FPY_i`.

    Notes
    -----
    Assumes independent steps.

    References
    ----------
    Breyfogle, F. W. (2003). *Implementing Six Sigma*, 2nd ed., Wiley, Sec. 9.

    Examples
    --------
    >>> round(rolled_throughput_yield([0.98, 0.95, 0.99]), 6)
    0.92169
    """
    y = finite_array("yields", yields)
    bad = np.flatnonzero((y < 0) | (y > 1))
    if bad.size:
        i = int(bad[0])
        raise invalid(f"yields[{i}]", f"a yield must be between 0 and 1, got {y[i]:g}")
    return float(np.prod(y))


@dataclass(frozen=True, slots=True)
class RolledYieldResult:
    """A rolled throughput yield with its simultaneous confidence interval.

    Attributes
    ----------
    yield_frac : float
        Point estimate: the product of the steps' first-pass yields.
    ci : Interval
        Two-sided interval at ``ci.confidence`` (method ``"wilson-bonferroni-product"``).
    steps : int
        Number of steps multiplied.
    """

    yield_frac: float
    ci: Interval
    steps: int


def rolled_throughput_yield_interval(
    counts: Sequence[tuple[int, int]], confidence: float = 0.95
) -> RolledYieldResult:
    r"""Rolled throughput yield from per-step counts, with a conservative interval.

    Parameters
    ----------
    counts : sequence of (passed_first, units)
        First-pass counts of each step; every step needs at least one unit.
    confidence : float, default 0.95
        Joint confidence level of the interval.

    Returns
    -------
    RolledYieldResult

    Notes
    -----
    :math:`RTY = \prod_{i=1}^{k} k_i/n_i`. Each step's Wilson interval is taken at level
    :math:`1 - (1 - c)/k` (Bonferroni), so all :math:`k` intervals hold together with
    probability at least :math:`c`; since the product is increasing in every factor, the
    products of the lower and of the upper bounds then bracket the true RTY with at least that
    probability. Assumes independent steps. The interval is conservative (wider than needed).

    References
    ----------
    Breyfogle, F. W. (2003). *Implementing Six Sigma*, 2nd ed., Wiley, Sec. 9 (RTY).
    Miller, R. G. (1981). *Simultaneous Statistical Inference*, 2nd ed., Springer, Ch. 1
    (Bonferroni).

    Examples
    --------
    >>> r = rolled_throughput_yield_interval([(95, 100), (98, 100)])
    >>> round(r.yield_frac, 4), r.steps
    (0.931, 2)
    """
    if len(counts) == 0:
        raise invalid("counts", "no steps: rolled throughput yield is undefined")
    conf = confidence_level(confidence)
    each = 1.0 - (1.0 - conf) / len(counts)
    results = [first_pass_yield(ok, n, each) for ok, n in counts]
    return RolledYieldResult(
        yield_frac=rolled_throughput_yield([r.yield_frac for r in results]),
        ci=Interval(
            low=rolled_throughput_yield([r.ci.low for r in results]),
            high=rolled_throughput_yield([r.ci.high for r in results]),
            confidence=conf,
            method=RTY_INTERVAL_METHOD,
        ),
        steps=len(counts),
    )


@dataclass(frozen=True, slots=True)
class DefectRate:
    """Defects per unit (DPU) or per million opportunities (DPMO), with an exact Poisson CI."""

    value: float
    defects: int
    units: int
    opportunities_per_unit: float
    ci: Interval

    def defects_per_opportunity(self) -> float:
        return self.defects / (self.units * self.opportunities_per_unit)


def _poisson_interval(defects: int, exposure: float, scale: float, conf: float) -> Interval:
    from scipy import stats

    alpha = 1.0 - conf
    low = 0.0 if defects == 0 else float(stats.chi2.ppf(alpha / 2.0, 2 * defects)) / 2.0
    high = float(stats.chi2.ppf(1.0 - alpha / 2.0, 2 * defects + 2)) / 2.0
    return Interval(low / exposure * scale, high / exposure * scale, conf, "poisson-exact")


def dpu(defects: int, units: int, confidence: float = 0.95) -> DefectRate:
    r"""Defects per unit with an exact (chi-square) Poisson interval.

    Parameters
    ----------
    defects : int
        Defects found.
    units : int
        Units inspected.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    DefectRate

    Notes
    -----
    :math:`DPU = D/U`; interval :math:`[\chi^2_{\alpha/2,2D}/2,\ \chi^2_{1-\alpha/2,2D+2}/2]/U`.

    References
    ----------
    Garwood, F. (1936). Fiducial limits for the Poisson distribution. *Biometrika* 28, 437-442.

    Examples
    --------
    >>> dpu(12, 100).value
    0.12
    """
    d, u = _count("defects", defects), _count("units", units)
    if u == 0:
        raise invalid("units", "no units: DPU is undefined")
    conf = confidence_level(confidence)
    return DefectRate(d / u, d, u, 1.0, _poisson_interval(d, u, 1.0, conf))


def dpmo(
    defects: int, units: int, opportunities_per_unit: float, confidence: float = 0.95
) -> DefectRate:
    r"""Defects per million opportunities.

    Parameters
    ----------
    defects : int
        Defects found.
    units : int
        Units inspected.
    opportunities_per_unit : float
        Defect opportunities on one unit (e.g. solder joints per board).
    confidence : float, default 0.95
        Two-sided confidence level of the exact Poisson interval.

    Returns
    -------
    DefectRate

    Notes
    -----
    :math:`DPMO = 10^6 D/(U\cdot O)`.

    References
    ----------
    Breyfogle, F. W. (2003). *Implementing Six Sigma*, 2nd ed., Wiley, Sec. 9.

    Examples
    --------
    >>> dpmo(12, 100, 40).value
    3000.0
    """
    d, u = _count("defects", defects), _count("units", units)
    opp = float(opportunities_per_unit)
    if not math.isfinite(opp) or opp <= 0:
        raise invalid("opportunities_per_unit", f"must be positive, got {opportunities_per_unit!r}")
    if u == 0:
        raise invalid("units", "no units: DPMO is undefined")
    conf = confidence_level(confidence)
    exposure = u * opp
    return DefectRate(d / exposure * 1e6, d, u, opp, _poisson_interval(d, exposure, 1e6, conf))
