"""Normality check (Anderson-Darling) and the Box-Cox transform for non-normal capability."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from phasegate.domain.errors import invalid
from phasegate.stats._checks import FloatArray, finite_array

__all__ = ["NormalityResult", "anderson_darling", "box_cox", "box_cox_lambda"]


@dataclass(frozen=True, slots=True)
class NormalityResult:
    """Anderson-Darling test of normality with mean and variance estimated from the data.

    Attributes
    ----------
    statistic : float
        :math:`A^2`.
    adjusted : float
        :math:`A^{*2} = A^2(1 + 0.75/n + 2.25/n^2)`.
    p_value : float
        Approximate p-value (D'Agostino and Stephens); 0.0 means below 1e-20.
    n : int
        Number of values tested.
    alpha : float
        Level used for :attr:`normal`.
    n_total : int
        Number of values given; larger than ``n`` when an evenly spaced subsample was tested.
    """

    statistic: float
    adjusted: float
    p_value: float
    n: int
    alpha: float = 0.05
    n_total: int = 0

    @property
    def subsampled(self) -> bool:
        """True when the test used an evenly spaced subsample of the values."""
        return self.n_total > self.n

    @property
    def normal(self) -> bool:
        """True when normality is not rejected at ``alpha``."""
        return self.p_value >= self.alpha


def _ad_p_value(a: float) -> float:
    # D'Agostino & Stephens (1986), Table 4.9, case 3 (mean and variance estimated).
    if a >= 10.0:
        return 0.0
    if a >= 0.6:
        return math.exp(1.2937 - 5.709 * a + 0.0186 * a * a)
    if a >= 0.34:
        return math.exp(0.9177 - 4.279 * a - 1.38 * a * a)
    if a >= 0.2:
        return 1.0 - math.exp(-8.318 + 42.796 * a - 59.938 * a * a)
    return 1.0 - math.exp(-13.436 + 101.14 * a - 223.73 * a * a)


MAX_TEST_SIZE = 100_000


def anderson_darling(
    values: ArrayLike, alpha: float = 0.05, max_n: int | None = MAX_TEST_SIZE
) -> NormalityResult:
    r"""Anderson-Darling test of normality (parameters estimated).

    Parameters
    ----------
    values : array_like
        Observations (at least 8).
    alpha : float, default 0.05
        Significance level for :attr:`NormalityResult.normal`.
    max_n : int or None, default 100000
        Above this many values the test runs on an evenly spaced subsample of ``max_n`` of them
        (every k-th value, k = ceil(n / max_n)); the result says so (``n`` < ``n_total``).
        ``None`` tests every value.

    Returns
    -------
    NormalityResult

    Notes
    -----
    With :math:`z_{(i)}` the sorted standardized values (sample mean, sd with n - 1):

    .. math:: A^2 = -n - \frac1n\sum_{i=1}^n (2i-1)\left[\ln\Phi(z_{(i)})
              + \ln\left(1-\Phi(z_{(n+1-i)})\right)\right]

    evaluated with ``log_ndtr`` so extreme tails do not underflow. The p-value uses
    :math:`A^{*2} = A^2(1 + 0.75/n + 2.25/n^2)` and the piecewise exponential fit of
    D'Agostino and Stephens. With very large n the test rejects for departures of no practical
    size, which is why the capability result reports it rather than acting on it, and why
    beyond ``max_n`` values a systematic subsample is tested (sorting a million values would
    cost more than the rest of a capability study together).

    References
    ----------
    Anderson, T. W. and Darling, D. A. (1954). A test of goodness of fit. *JASA* 49, 765-769.
    D'Agostino, R. B. and Stephens, M. A. (1986). *Goodness-of-Fit Techniques*, Marcel Dekker,
    Tables 4.7 and 4.9.
    NIST/SEMATECH e-Handbook of Statistical Methods, Sec. 1.3.5.14.

    Examples
    --------
    >>> res = anderson_darling([2.1, 1.9, 2.0, 2.2, 1.8, 2.05, 1.95, 2.1, 2.0, 1.9])
    >>> res.normal
    True
    """
    from scipy import special

    x = finite_array("values", values)
    n_total = x.shape[0]
    if max_n is not None and n_total > max_n:
        x = x[:: -(-n_total // max_n)]
    n = x.shape[0]
    if n < 8:
        raise invalid("values", f"the Anderson-Darling test needs at least 8 values, got {n}")
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        return NormalityResult(math.inf, math.inf, 0.0, n, alpha, n_total)
    z = np.sort(x)
    z -= x.mean()
    z /= sd
    # One normal-tail evaluation per value: q = Phi(-|z|) is accurate in both tails, and
    # log Phi(z), log(1 - Phi(z)) are log q and log1p(-q) on the matching sides.
    q = special.ndtr(-np.abs(z))
    log_q = np.log(q)
    log_p = np.log1p(-q)
    neg = z < 0
    lower = np.where(neg, log_q, log_p)  # log Phi(z_i)
    upper = np.where(neg, log_p, log_q)  # log(1 - Phi(z_i))
    far = np.abs(z) > 35.0  # Phi underflows there; use the asymptotic log_ndtr
    if far.any():
        lower[far] = special.log_ndtr(z[far])
        upper[far] = special.log_ndtr(-z[far])
    # sum_i (2i-1)[lower_i + upper_{n+1-i}] = sum_j (2j-1)(lower_j - upper_j) + 2n sum_j upper_j
    w = np.arange(1, 2 * n, 2, dtype=np.float64)
    a2 = -n - (float(np.dot(w, lower - upper)) + 2.0 * n * float(upper.sum())) / n
    adjusted = a2 * (1.0 + 0.75 / n + 2.25 / (n * n))
    return NormalityResult(a2, adjusted, _ad_p_value(adjusted), n, alpha, n_total)


def box_cox_lambda(values: ArrayLike) -> float:
    r"""Maximum-likelihood Box-Cox exponent for positive data.

    Parameters
    ----------
    values : array_like
        Strictly positive observations.

    Returns
    -------
    float
        :math:`\hat\lambda` maximizing the Box-Cox profile log-likelihood.

    Notes
    -----
    :math:`\ell(\lambda) = -\frac n2\ln\hat\sigma^2_\lambda + (\lambda - 1)\sum\ln x_i`.

    References
    ----------
    Box, G. E. P. and Cox, D. R. (1964). An analysis of transformations. *JRSS B* 26, 211-252.

    Examples
    --------
    >>> abs(round(box_cox_lambda([1.0, 2.0, 4.0, 8.0, 16.0]), 2))
    0.0
    """
    from scipy import stats

    x = finite_array("values", values)
    if np.any(x <= 0):
        i = int(np.flatnonzero(x <= 0)[0])
        raise invalid(f"values[{i}]", f"Box-Cox needs positive values, got {x[i]:g}")
    return float(stats.boxcox_normmax(x, method="mle"))


def box_cox(values: ArrayLike, lam: float) -> FloatArray:
    r"""Box-Cox transform :math:`(x^\lambda - 1)/\lambda`, or :math:`\ln x` for :math:`\lambda = 0`.

    Parameters
    ----------
    values : array_like
        Strictly positive values (data or specification limits).
    lam : float
        Exponent.

    Returns
    -------
    ndarray
        Transformed values; the transform is increasing, so limits keep their order.

    Notes
    -----
    .. math:: y = (x^\lambda-1)/\lambda \quad (\lambda \ne 0), \qquad y = \ln x \quad (\lambda = 0)

    References
    ----------
    Box and Cox (1964), *JRSS B* 26, 211-252.

    Examples
    --------
    >>> box_cox([1.0, 4.0], 0.5).tolist()
    [0.0, 2.0]
    """
    from scipy import special

    x = np.asarray(values, dtype=np.float64)
    if np.any(~(x > 0)):
        raise invalid("values", "Box-Cox needs positive values (data and specification limits)")
    return np.asarray(special.boxcox(x, lam), dtype=np.float64)
