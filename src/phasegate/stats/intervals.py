"""Confidence intervals: proportions (Wilson, Clopper-Pearson) and capability indices.

Gates judge lower confidence bounds, so every interval here has a two-sided form at
``confidence`` and a one-sided lower bound at the same ``confidence``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from phasegate.domain.errors import invalid
from phasegate.stats._checks import confidence_level

__all__ = [
    "Interval",
    "clopper_pearson",
    "clopper_pearson_lower",
    "cp_interval",
    "cp_lower",
    "cpk_interval",
    "cpk_lower",
    "cpm_interval",
    "cpm_lower",
    "wilson",
    "wilson_lower",
]


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided confidence interval ``[low, high]`` at ``confidence``."""

    low: float
    high: float
    confidence: float
    method: str

    def as_list(self) -> list[float]:
        return [self.low, self.high]

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def _proportion_inputs(successes: float, trials: float) -> tuple[float, float]:
    k, n = float(successes), float(trials)
    if not math.isfinite(n) or n <= 0 or n != round(n):
        raise invalid("trials", f"must be a positive whole number, got {trials!r}")
    if not math.isfinite(k) or k < 0 or k != round(k):
        raise invalid("successes", f"must be a non-negative whole number, got {successes!r}")
    if k > n:
        raise invalid("successes", f"{k:g} is more than the number of trials {n:g}")
    return k, n


def _wilson_bounds(k: float, n: float, z: float) -> tuple[float, float]:
    p = k / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def wilson(successes: float, trials: float, confidence: float = 0.95) -> Interval:
    r"""Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes : int
        Number of successes (e.g. units passing first time).
    trials : int
        Number of trials (units).
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval
        ``[low, high]``.

    Notes
    -----
    With :math:`\hat p = k/n` and :math:`z = \Phi^{-1}(1-\alpha/2)`:

    .. math:: \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n}
              + \frac{z^2}{4n^2}}}{1 + z^2/n}

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA* 22, 209-212.
    Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion:
    comparison of seven methods. *Statistics in Medicine* 17, 857-872 (method 3).

    Examples
    --------
    >>> ci = wilson(81, 263)
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.2553, 0.3662)
    """
    from scipy import special

    k, n = _proportion_inputs(successes, trials)
    conf = confidence_level(confidence)
    z = float(special.ndtri(0.5 + conf / 2.0))
    low, high = _wilson_bounds(k, n, z)
    return Interval(low, high, conf, "wilson")


def wilson_lower(successes: float, trials: float, confidence: float = 0.95) -> float:
    """One-sided Wilson lower confidence bound at ``confidence`` (see :func:`wilson`).

    Parameters
    ----------
    successes, trials : int
        Successes and trials.
    confidence : float, default 0.95
        One-sided confidence level.

    Returns
    -------
    float
        The lower bound: the low end of the two-sided interval at ``2 * confidence - 1``.

    Notes
    -----
    Uses :math:`z = \\Phi^{-1}(\\text{confidence})` in the Wilson formula.

    References
    ----------
    Wilson, E. B. (1927). *JASA* 22, 209-212.

    Examples
    --------
    >>> round(wilson_lower(95, 100), 4)
    0.9008
    """
    from scipy import special

    k, n = _proportion_inputs(successes, trials)
    conf = confidence_level(confidence)
    return _wilson_bounds(k, n, float(special.ndtri(conf)))[0]


def clopper_pearson(successes: float, trials: float, confidence: float = 0.95) -> Interval:
    r"""Clopper-Pearson ("exact") interval for a binomial proportion.

    Parameters
    ----------
    successes : int
        Number of successes.
    trials : int
        Number of trials.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval
        ``[low, high]``.

    Notes
    -----
    :math:`p_L = B^{-1}(\alpha/2; k, n-k+1)`, :math:`p_U = B^{-1}(1-\alpha/2; k+1, n-k)`
    (beta quantiles), with :math:`p_L = 0` when :math:`k = 0` and :math:`p_U = 1` when
    :math:`k = n`.

    References
    ----------
    Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits
    illustrated in the case of the binomial. *Biometrika* 26, 404-413.
    Newcombe (1998), *Statistics in Medicine* 17, 857-872 (method 5).

    Examples
    --------
    >>> ci = clopper_pearson(81, 263)
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.2527, 0.3676)
    """
    from scipy import stats

    k, n = _proportion_inputs(successes, trials)
    conf = confidence_level(confidence)
    alpha = 1.0 - conf
    low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2.0, k, n - k + 1.0))
    high = 1.0 if k == n else float(stats.beta.ppf(1.0 - alpha / 2.0, k + 1.0, n - k))
    return Interval(low, high, conf, "clopper-pearson")


def clopper_pearson_lower(successes: float, trials: float, confidence: float = 0.95) -> float:
    r"""One-sided Clopper-Pearson lower confidence bound.

    Parameters
    ----------
    successes, trials : int
        Successes and trials.
    confidence : float, default 0.95
        One-sided confidence level.

    Returns
    -------
    float
        :math:`B^{-1}(1 - \text{confidence}; k, n - k + 1)`, 0 when :math:`k = 0`.

    Notes
    -----
    The smallest p for which observing k or more successes has probability at least
    :math:`1 - \text{confidence}`.

    References
    ----------
    Clopper and Pearson (1934), *Biometrika* 26, 404-413.

    Examples
    --------
    >>> round(clopper_pearson_lower(20, 20, 0.95), 4)
    0.8609
    """
    from scipy import stats

    k, n = _proportion_inputs(successes, trials)
    conf = confidence_level(confidence)
    return 0.0 if k == 0 else float(stats.beta.ppf(1.0 - conf, k, n - k + 1.0))


def _dof(dof: float) -> float:
    v = float(dof)
    if not math.isfinite(v) or v <= 0:
        raise invalid("dof", f"degrees of freedom must be positive, got {dof!r}")
    return v


def cp_interval(cp: float, dof: float, confidence: float = 0.95) -> Interval:
    r"""Chi-square confidence interval for Cp (or Pp).

    Parameters
    ----------
    cp : float
        Point estimate.
    dof : float
        Degrees of freedom :math:`\nu` of the sigma estimate (n - 1 for the sample standard
        deviation).
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval

    Notes
    -----
    .. math:: \hat C_p\sqrt{\chi^2_{\alpha/2,\nu}/\nu} \le C_p \le
              \hat C_p\sqrt{\chi^2_{1-\alpha/2,\nu}/\nu}

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 8.3.5,
    Eq. (8.19).

    Examples
    --------
    >>> ci = cp_interval(2.29, 19)
    >>> round(ci.low, 2), round(ci.high, 2)
    (1.57, 3.01)
    """
    from scipy import stats

    v = _dof(dof)
    conf = confidence_level(confidence)
    alpha = 1.0 - conf
    low = cp * math.sqrt(float(stats.chi2.ppf(alpha / 2.0, v)) / v)
    high = cp * math.sqrt(float(stats.chi2.ppf(1.0 - alpha / 2.0, v)) / v)
    return Interval(low, high, conf, "chi-square")


def cp_lower(cp: float, dof: float, confidence: float = 0.95) -> float:
    r"""One-sided lower confidence bound for Cp (chi-square).

    Parameters
    ----------
    cp : float
        Point estimate.
    dof : float
        Degrees of freedom of the sigma estimate.
    confidence : float, default 0.95
        One-sided confidence level.

    Returns
    -------
    float
        :math:`\hat C_p\sqrt{\chi^2_{1-\text{conf},\nu}/\nu}`.

    Notes
    -----
    The lower end of :func:`cp_interval` at two-sided level ``2 * confidence - 1``.

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 8.3.5.

    Examples
    --------
    >>> round(cp_lower(1.33, 49), 3)
    1.107
    """
    from scipy import stats

    v = _dof(dof)
    conf = confidence_level(confidence)
    return cp * math.sqrt(float(stats.chi2.ppf(1.0 - conf, v)) / v)


def _bissell_se(cpk: float, n: float, dof: float) -> float:
    return math.sqrt(1.0 / (9.0 * n) + cpk * cpk / (2.0 * dof))


def cpk_interval(
    cpk: float, n: int, confidence: float = 0.95, dof: float | None = None
) -> Interval:
    r"""Bissell's normal-approximation interval for Cpk (also Cpl, Cpu, Ppk, Ppl, Ppu).

    Parameters
    ----------
    cpk : float
        Point estimate.
    n : int
        Number of observations.
    confidence : float, default 0.95
        Two-sided confidence level.
    dof : float, optional
        Degrees of freedom of the sigma estimate; default ``n - 1`` (Bissell's formula). A
        within-subgroup sigma has fewer effective degrees of freedom.

    Returns
    -------
    Interval

    Notes
    -----
    .. math:: \hat C_{pk} \pm z_{\alpha/2}\sqrt{\frac{1}{9n} + \frac{\hat C_{pk}^2}{2\nu}}

    References
    ----------
    Bissell, A. F. (1990). How reliable is your capability index? *Applied Statistics* 39(3),
    331-340.
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 8.3.5,
    Eq. (8.21).

    Examples
    --------
    >>> ci = cpk_interval(1.33, 20)
    >>> round(ci.low, 2), round(ci.high, 2)
    (0.88, 1.78)
    """
    from scipy import special

    if n < 2:
        raise invalid("n", f"needs at least 2 observations, got {n}")
    conf = confidence_level(confidence)
    v = _dof(n - 1 if dof is None else dof)
    z = float(special.ndtri(0.5 + conf / 2.0))
    half = z * _bissell_se(cpk, n, v)
    return Interval(cpk - half, cpk + half, conf, "bissell")


def cpk_lower(cpk: float, n: int, confidence: float = 0.95, dof: float | None = None) -> float:
    r"""One-sided lower confidence bound for Cpk (Bissell).

    Parameters
    ----------
    cpk : float
        Point estimate.
    n : int
        Number of observations.
    confidence : float, default 0.95
        One-sided confidence level.
    dof : float, optional
        Degrees of freedom of the sigma estimate, default ``n - 1``.

    Returns
    -------
    float
        :math:`\hat C_{pk} - z_{\text{conf}}\sqrt{1/(9n) + \hat C_{pk}^2/(2\nu)}`.

    Notes
    -----
    The bound a gate such as "Cpk 95 % lower bound >= 1.0" compares with its threshold.

    References
    ----------
    Bissell (1990), *Applied Statistics* 39(3), 331-340.

    Examples
    --------
    >>> round(cpk_lower(1.33, 20), 3)
    0.955
    """
    from scipy import special

    if n < 2:
        raise invalid("n", f"needs at least 2 observations, got {n}")
    conf = confidence_level(confidence)
    v = _dof(n - 1 if dof is None else dof)
    return cpk - float(special.ndtri(conf)) * _bissell_se(cpk, n, v)


def boyles_dof(n: int, mean: float, sd: float, target: float) -> float:
    r"""Boyles' degrees of freedom for Cpm.

    :math:`\nu = n(1+a^2)^2/(1+2a^2)` with :math:`a = (\bar x - T)/s`.
    """
    a2 = ((mean - target) / sd) ** 2 if sd > 0 else 0.0
    return n * (1.0 + a2) ** 2 / (1.0 + 2.0 * a2)


def cpm_interval(
    cpm: float, n: int, mean: float, sd: float, target: float, confidence: float = 0.95
) -> Interval:
    r"""Boyles' chi-square interval for the Taguchi index Cpm.

    Parameters
    ----------
    cpm : float
        Point estimate.
    n : int
        Number of observations.
    mean, sd : float
        Sample mean and standard deviation.
    target : float
        Target T.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    Interval

    Notes
    -----
    With :math:`a = (\bar x - T)/s` and :math:`\nu = n(1+a^2)^2/(1+2a^2)`:

    .. math:: \hat C_{pm}\sqrt{\chi^2_{\alpha/2,\nu}/\nu} \le C_{pm} \le
              \hat C_{pm}\sqrt{\chi^2_{1-\alpha/2,\nu}/\nu}

    References
    ----------
    Boyles, R. A. (1991). The Taguchi capability index. *Journal of Quality Technology* 23(1),
    17-26.
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 8.3.5.

    Examples
    --------
    >>> ci = cpm_interval(1.0, 30, 10.0, 1.0, 10.0)
    >>> round(ci.low, 3), round(ci.high, 3)
    (0.748, 1.251)
    """
    from scipy import stats

    if n < 2:
        raise invalid("n", f"needs at least 2 observations, got {n}")
    conf = confidence_level(confidence)
    v = boyles_dof(n, mean, sd, target)
    alpha = 1.0 - conf
    low = cpm * math.sqrt(float(stats.chi2.ppf(alpha / 2.0, v)) / v)
    high = cpm * math.sqrt(float(stats.chi2.ppf(1.0 - alpha / 2.0, v)) / v)
    return Interval(low, high, conf, "boyles")


def cpm_lower(
    cpm: float, n: int, mean: float, sd: float, target: float, confidence: float = 0.95
) -> float:
    r"""One-sided lower confidence bound for Cpm (Boyles).

    Parameters
    ----------
    cpm : float
        Point estimate.
    n : int
        Number of observations.
    mean, sd, target : float
        Sample mean, standard deviation and target.
    confidence : float, default 0.95
        One-sided confidence level.

    Returns
    -------
    float
        :math:`\hat C_{pm}\sqrt{\chi^2_{1-\text{conf},\nu}/\nu}`.

    Notes
    -----
    :math:`\nu` as in :func:`cpm_interval`.

    References
    ----------
    Boyles (1991), *Journal of Quality Technology* 23(1), 17-26.

    Examples
    --------
    >>> round(cpm_lower(1.0, 30, 10.0, 1.0, 10.0), 3)
    0.785
    """
    from scipy import stats

    if n < 2:
        raise invalid("n", f"needs at least 2 observations, got {n}")
    conf = confidence_level(confidence)
    v = boyles_dof(n, mean, sd, target)
    return cpm * math.sqrt(float(stats.chi2.ppf(1.0 - conf, v)) / v)
