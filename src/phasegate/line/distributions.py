"""Processing-time sampling for the line simulation, vectorised over a seeded NumPy Generator."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from phasegate.line.model import Line, TimeSpec


def lognormal_parameters(mean: float, cv: float) -> tuple[float, float]:
    """The underlying normal's ``(mu, sigma)`` of a lognormal with this mean and CV.

    Notes
    -----
    :math:`\\sigma^2 = \\ln(1 + cv^2)`, :math:`\\mu = \\ln(mean) - \\sigma^2 / 2`, so that
    :math:`E[X] = e^{\\mu + \\sigma^2/2} = mean` and :math:`sd(X)/E[X] = cv`.

    References
    ----------
    Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed., section 6.2.2.

    Examples
    --------
    >>> mu, sigma = lognormal_parameters(1.0, 0.0)
    >>> (mu, sigma)
    (0.0, 0.0)
    """
    sigma2 = math.log1p(cv * cv)
    return math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)


def sample_times(spec: TimeSpec, n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """``n`` processing times in seconds drawn from ``spec``.

    A normal distribution is truncated at zero (a negative draw becomes 0 s); every other
    distribution is non-negative by construction. Empirical times are drawn with replacement.

    Examples
    --------
    >>> from phasegate.line.model import TimeSpec
    >>> sample_times(TimeSpec("fixed", (2.5,)), 3, np.random.default_rng(0)).tolist()
    [2.5, 2.5, 2.5]
    """
    p = spec.params
    if spec.dist == "fixed":
        return np.full(n, p[0])
    if spec.dist == "normal":
        return np.maximum(rng.normal(p[0], p[1], n), 0.0)
    if spec.dist == "lognormal":
        mu, sigma = lognormal_parameters(p[0], p[1])
        return rng.lognormal(mu, sigma, n)
    if spec.dist == "exponential":
        return rng.exponential(p[0], n)
    if spec.dist == "triangular":
        return rng.triangular(p[0], p[1], p[2], n)
    if spec.dist == "empirical":
        return rng.choice(np.asarray(p, dtype=np.float64), n, replace=True)
    raise ValueError(f"unknown distribution {spec.dist!r}")


def sample_line(line: Line, n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """An ``(n, stations)`` array of processing times: row = unit, column = station."""
    times = np.empty((n, len(line.stations)), dtype=np.float64)
    for column, station in enumerate(line.stations):
        times[:, column] = sample_times(station.time, n, rng)
    return times
