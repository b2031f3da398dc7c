"""Wright's learning curve: fitted by least squares on log-log axes, with a confidence band.

The unit model: the time (or cost) of the x-th unit is ``y = a * x**b``. Each doubling of the
cumulative quantity multiplies it by the learning rate ``2**b`` (an "80 % curve" has
``b = log2(0.8) = -0.3219``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from phasegate.domain.errors import invalid
from phasegate.stats.intervals import Interval

__all__ = ["LearningCurve", "fit_learning_curve"]


@dataclass(frozen=True, slots=True)
class LearningCurve:
    """A fitted unit learning curve ``y = first_unit * x**exponent``.

    ``residual_sd`` is the residual standard deviation on the natural-log scale; with
    ``log_x_mean`` and ``log_x_sxx`` (the mean and the sum of squared deviations of ln x) it
    gives the confidence band of :meth:`band`. ``t`` is the Student t quantile used.
    """

    first_unit: float
    exponent: float
    exponent_se: float
    n: int
    r_squared: float
    residual_sd: float
    log_x_mean: float
    log_x_sxx: float
    t: float
    confidence: float

    @property
    def learning_rate(self) -> float:
        """The factor each doubling of the quantity applies: ``2**exponent``."""
        return float(2.0**self.exponent)

    def learning_rate_ci(self) -> Interval:
        """Confidence interval of the learning rate: ``2**(b ± t * se(b))``."""
        half = self.t * self.exponent_se
        low, high = 2.0 ** (self.exponent - half), 2.0 ** (self.exponent + half)
        return Interval(float(low), float(high), self.confidence, "wright log-log t")

    def predict(self, x: float) -> float:
        """The fitted time of unit ``x`` (x ≥ 1 counts units from the first)."""
        return float(self.first_unit * _unit(x) ** self.exponent)

    def band(self, x: float) -> Interval:
        """Confidence band of the curve at unit ``x``, back-transformed from the log scale.

        ln ŷ ± t · s · sqrt(1/n + (ln x − mean ln x)² / Sxx), the band of the mean response of
        a simple linear regression; it widens the farther ``x`` lies from the units observed.
        """
        lx = math.log(_unit(x))
        centre = math.log(self.first_unit) + self.exponent * lx
        half = (
            self.t
            * self.residual_sd
            * math.sqrt(1.0 / self.n + (lx - self.log_x_mean) ** 2 / self.log_x_sxx)
        )
        return Interval(
            math.exp(centre - half), math.exp(centre + half), self.confidence, "wright log-log t"
        )


def _unit(x: float) -> float:
    value = float(x)
    if not math.isfinite(value) or value < 1:
        raise invalid("x", f"a unit number is 1 or more, got {x!r}")
    return value


def fit_learning_curve(
    units: ArrayLike, values: ArrayLike, *, confidence: float = 0.95
) -> LearningCurve:
    r"""Fit Wright's unit learning curve ``y = a x^b`` by least squares on log-log axes.

    Parameters
    ----------
    units : array_like
        Cumulative unit numbers (1 for the first unit), each 1 or more.
    values : array_like
        The time or cost of each of those units, each above 0.
    confidence : float, default 0.95
        Two-sided level of the learning-rate interval and of :meth:`LearningCurve.band`.

    Returns
    -------
    LearningCurve
        ``first_unit`` (a), ``exponent`` (b), learning rate ``2**b`` and the band.

    Notes
    -----
    With :math:`u = \ln x`, :math:`v = \ln y`:
    :math:`b = S_{uv}/S_{uu}`, :math:`\ln a = \bar v - b \bar u`,
    :math:`s^2 = \sum (v - \ln a - b u)^2 / (n - 2)`, :math:`se(b) = s/\sqrt{S_{uu}}`,
    and the band uses :math:`t_{1-\alpha/2,\,n-2}`. At least three units and two distinct unit
    numbers are needed. NaN or infinite values are refused, naming the position.

    References
    ----------
    Wright, T. P. (1936). Factors affecting the cost of airplanes. *Journal of the
    Aeronautical Sciences* 3(4), 122-128.
    Heizer, J. and Render, B. *Operations Management*, Module E "Learning Curves"
    (the doubling approach and the learning-curve coefficients).

    Examples
    --------
    >>> curve = fit_learning_curve([1, 2, 4, 8], [100.0, 80.0, 64.0, 51.2])
    >>> round(curve.learning_rate, 6), round(curve.first_unit, 6)
    (0.8, 100.0)
    """
    x = _positive("units", units)
    y = _positive("values", values)
    if x.shape != y.shape:
        raise invalid("values", f"has {y.size} entries but units has {x.size}")
    if x.size < 3:
        raise invalid("units", f"a fit needs at least 3 units, got {x.size}")
    bad = np.flatnonzero(x < 1)
    if bad.size:
        raise invalid(f"units[{int(bad[0])}]", f"a unit number is 1 or more, got {x[bad[0]]:g}")
    if not 0 < confidence < 1:
        raise invalid("confidence", f"must lie between 0 and 1, got {confidence!r}")
    u, v = np.log(x), np.log(y)
    u_mean, v_mean = float(u.mean()), float(v.mean())
    suu = float(((u - u_mean) ** 2).sum())
    if suu == 0.0:
        raise invalid("units", "all units have the same number; a fit needs two or more")
    b = float(((u - u_mean) * (v - v_mean)).sum()) / suu
    log_a = v_mean - b * u_mean
    residuals = v - (log_a + b * u)
    sse = float((residuals**2).sum())
    sst = float(((v - v_mean) ** 2).sum())
    s = math.sqrt(sse / (x.size - 2))
    from scipy import stats

    t = float(stats.t.ppf(0.5 + confidence / 2.0, x.size - 2))
    return LearningCurve(
        first_unit=math.exp(log_a),
        exponent=b,
        exponent_se=s / math.sqrt(suu),
        n=int(x.size),
        r_squared=1.0 - sse / sst if sst > 0 else 1.0,
        residual_sd=s,
        log_x_mean=u_mean,
        log_x_sxx=suu,
        t=t,
        confidence=float(confidence),
    )


def _positive(name: str, values: ArrayLike) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise invalid(name, f"not numeric ({error})") from None
    if arr.ndim != 1:
        raise invalid(name, f"expected a 1-D array, got {arr.ndim}-D")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr <= 0))
    if bad.size:
        i = int(bad[0])
        raise invalid(f"{name}[{i}]", f"must be a finite number above 0, got {arr[i]!r}")
    return arr
