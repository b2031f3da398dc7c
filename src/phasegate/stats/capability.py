"""Process capability: Cp, Cpk, Cpm, Pp, Ppk with confidence intervals, ppm, and normality.

Within-subgroup sigma (short-term, for Cp/Cpk) is R̄/d2, S̄/c4 or the pooled standard deviation
for subgrouped data and MR̄/d2 for individual values; overall sigma (long-term, for Pp/Ppk) is
the sample standard deviation of all values. A missing specification limit makes the indices
that need it NaN (``null`` in JSON); Cpm needs both limits.

The normality of the data is always checked (Anderson-Darling) and reported. When it is
rejected, the normal-theory indices are still computed but the result carries a warning;
``method="box-cox"`` or ``method="percentile"`` (ISO 22514-2) are the explicit non-normal paths,
and the result names the method used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from phasegate.domain.errors import invalid
from phasegate.stats._checks import FloatArray, confidence_level, finite_array
from phasegate.stats._groups import Groups, make_groups, within_sigma
from phasegate.stats.constants import _c4, _d2
from phasegate.stats.intervals import (
    Interval,
    cp_interval,
    cp_lower,
    cpk_interval,
    cpk_lower,
    cpm_interval,
    cpm_lower,
)
from phasegate.stats.normality import NormalityResult, anderson_darling, box_cox, box_cox_lambda

__all__ = ["CapabilityResult", "Ppm", "capability"]

SigmaMethod = Literal["rbar", "sbar", "pooled", "mr"]
Method = Literal["normal", "box-cox", "percentile"]
_Specs = tuple[float | None, float | None, float | None]  # lsl, usl, target

INDICES = ("cp", "cpl", "cpu", "cpk", "cpm", "pp", "ppl", "ppu", "ppk")
_NAN = math.nan


@dataclass(frozen=True, slots=True)
class Ppm:
    """Parts per million outside the specification: expected (normal model) and observed.

    ``expected_*`` use the overall sigma (long-term performance); ``expected_within_*`` use the
    within-subgroup sigma (potential performance).
    """

    expected_below: float
    expected_above: float
    observed_below: float
    observed_above: float
    expected_within_below: float
    expected_within_above: float

    @property
    def expected_total(self) -> float:
        return self.expected_below + self.expected_above

    @property
    def observed_total(self) -> float:
        return self.observed_below + self.observed_above


@dataclass(frozen=True, slots=True)
class CapabilityResult:
    """Capability indices with two-sided intervals and one-sided lower bounds.

    Attributes
    ----------
    n, subgroups : int
        Number of values and of subgroups (``n`` for individual values).
    mean, sigma_within, sigma_overall : float
        On the scale the indices were computed on (the transformed scale for Box-Cox).
    cp, cpl, cpu, cpk, cpm, pp, ppl, ppu, ppk : float
        The indices; NaN when a needed limit is missing or the method does not define them.
    ci : mapping of str to Interval
        Two-sided intervals at ``confidence`` for every index.
    lower_bounds : mapping of str to float
        One-sided lower confidence bounds at ``confidence``: what gates compare.
    ppm : Ppm
        Expected and observed parts per million below LSL and above USL.
    sigma_method : str
        ``"rbar"``, ``"sbar"``, ``"pooled"`` or ``"mr"``.
    dof_within, dof_overall : float
        Degrees of freedom of the two sigma estimates, used by the intervals.
    method : str
        ``"normal"``, ``"box-cox"`` or ``"percentile"``.
    normality : NormalityResult or None
        Anderson-Darling test of the raw data (None with fewer than 8 values).
    normality_transformed : NormalityResult or None
        The same test after the Box-Cox transform.
    box_cox_lambda : float or None
        The exponent used by the Box-Cox method.
    warnings : tuple of str
        Everything a reader must know before trusting the numbers.
    """

    n: int
    subgroups: int
    mean: float
    sigma_within: float
    sigma_overall: float
    lsl: float | None
    usl: float | None
    target: float | None
    cp: float
    cpl: float
    cpu: float
    cpk: float
    cpm: float
    pp: float
    ppl: float
    ppu: float
    ppk: float
    ci: Mapping[str, Interval]
    lower_bounds: Mapping[str, float]
    confidence: float
    ppm: Ppm
    sigma_method: str
    dof_within: float
    dof_overall: float
    method: str
    normality: NormalityResult | None
    normality_transformed: NormalityResult | None = None
    box_cox_lambda: float | None = None
    warnings: tuple[str, ...] = field(default=())

    def index(self, name: str) -> float:
        """Value of the index called ``name`` (``"cpk"``, ``"ppk"``...)."""
        if name not in INDICES:
            raise invalid(
                "index", f"unknown capability index {name!r}; one of {', '.join(INDICES)}"
            )
        return float(getattr(self, name))


def _within_sigma(groups: Groups | None, x: FloatArray, method: SigmaMethod) -> tuple[float, float]:
    """(sigma, degrees of freedom) of the within-subgroup estimate."""
    if groups is None:
        if method != "mr":
            raise invalid(
                "sigma_within",
                f"{method!r} needs subgrouped data; individual values use 'mr' (MR̄/d2)",
            )
        mr = np.abs(np.diff(x))
        return float(mr.mean()) / _d2(2), float(x.shape[0] - 1)
    if method == "mr":
        raise invalid(
            "sigma_within", "'mr' is for individual values; subgroups use rbar/sbar/pooled"
        )
    sizes = groups.sizes
    if int(sizes.min()) < 2:
        i = int(np.argmin(sizes))
        raise invalid(f"subgroup[{i}]", "has 1 value; within-subgroup sigma needs at least 2")
    if method == "pooled":
        dof = float(np.sum(sizes - 1))
        stds = groups.stds()
        pooled = math.sqrt(float(np.sum((sizes - 1) * stds * stds)) / dof)
        return pooled / _c4(int(dof) + 1), dof
    if method == "rbar":
        return within_sigma(groups.ranges(), sizes, "r")
    return within_sigma(groups.stds(), sizes, "s")


def _check_limits(lsl: float | None, usl: float | None, target: float | None) -> None:
    if lsl is None and usl is None:
        raise invalid("lsl/usl", "at least one specification limit is needed")
    for name, value in (("lsl", lsl), ("usl", usl), ("target", target)):
        if value is not None and not math.isfinite(value):
            raise invalid(name, f"must be a finite number, got {value!r}")
    if lsl is not None and usl is not None and not lsl < usl:
        raise invalid("usl", f"usl ({usl:g}) must be greater than lsl ({lsl:g})")
    if target is not None:
        if lsl is not None and target < lsl:
            raise invalid("target", f"target ({target:g}) is below lsl ({lsl:g})")
        if usl is not None and target > usl:
            raise invalid("target", f"target ({target:g}) is above usl ({usl:g})")


def _indices(
    mean: float, sw: float, so: float, lsl: float | None, usl: float | None, target: float | None
) -> dict[str, float]:
    with np.errstate(divide="ignore", invalid="ignore"):
        up = _safe_div(usl - mean, 3.0 * sw) if usl is not None else _NAN
        lo = _safe_div(mean - lsl, 3.0 * sw) if lsl is not None else _NAN
        ppu = _safe_div(usl - mean, 3.0 * so) if usl is not None else _NAN
        ppl = _safe_div(mean - lsl, 3.0 * so) if lsl is not None else _NAN
        cp = pp = cpm = _NAN
        if lsl is not None and usl is not None:
            cp = _safe_div(usl - lsl, 6.0 * sw)
            pp = _safe_div(usl - lsl, 6.0 * so)
            if target is not None:
                cpm = _safe_div(usl - lsl, 6.0 * math.sqrt(so * so + (mean - target) ** 2))
    return {
        "cp": cp,
        "cpl": lo,
        "cpu": up,
        "cpk": float(np.nanmin([lo, up])),
        "cpm": cpm,
        "pp": pp,
        "ppl": ppl,
        "ppu": ppu,
        "ppk": float(np.nanmin([ppl, ppu])),
    }


def _safe_div(num: float, den: float) -> float:
    if den == 0.0:
        return math.copysign(math.inf, num) if num != 0 else _NAN
    return num / den


def _nan_interval(confidence: float, method: str) -> Interval:
    return Interval(_NAN, _NAN, confidence, method)


def capability(
    data: ArrayLike,
    *,
    sizes: ArrayLike | None = None,
    lsl: float | None = None,
    usl: float | None = None,
    target: float | None = None,
    confidence: float = 0.95,
    sigma_within: SigmaMethod | None = None,
    method: Method = "normal",
    box_cox_exponent: float | None = None,
    alpha_normality: float = 0.05,
) -> CapabilityResult:
    r"""Capability indices with confidence intervals, expected/observed ppm and a normality check.

    Parameters
    ----------
    data : array_like
        Individual values (1-D), a 2-D (subgroups, n) array, or 1-D values with ``sizes``.
    sizes : array_like of int, optional
        Consecutive subgroup sizes for 1-D ``data``.
    lsl, usl : float, optional
        Specification limits; at least one. One-sided specifications give only the indices
        that use the given limit.
    target : float, optional
        Target for Cpm; defaults to the midpoint of two-sided specifications.
    confidence : float, default 0.95
        Level of the two-sided intervals and of the one-sided lower bounds.
    sigma_within : {"rbar", "sbar", "pooled", "mr"}, optional
        Within-subgroup sigma; default ``"rbar"`` for subgroups and ``"mr"`` for individuals.
    method : {"normal", "box-cox", "percentile"}, default "normal"
        ``"box-cox"`` transforms data and limits with the maximum-likelihood exponent (or
        ``box_cox_exponent``) and computes every index on that scale; ``"percentile"`` uses the
        ISO 22514-2 percentile method (Pp/Ppk family only, from empirical quantiles).
    box_cox_exponent : float, optional
        Fixed Box-Cox exponent instead of the estimated one.
    alpha_normality : float, default 0.05
        Level at which the Anderson-Darling test rejects normality.

    Returns
    -------
    CapabilityResult

    Notes
    -----
    .. math::
        C_p = \frac{USL-LSL}{6\sigma_w},\quad C_{pu} = \frac{USL-\mu}{3\sigma_w},\quad
        C_{pl} = \frac{\mu-LSL}{3\sigma_w},\quad C_{pk} = \min(C_{pu}, C_{pl}),\quad
        C_{pm} = \frac{USL-LSL}{6\sqrt{s^2 + (\bar x - T)^2}}

    and the P indices with the overall :math:`s`. Intervals: chi-square for Cp/Pp
    (:func:`~phasegate.stats.intervals.cp_interval`), Bissell for Cpk, Cpl, Cpu, Ppk, Ppl, Ppu
    (:func:`~phasegate.stats.intervals.cpk_interval`, with the degrees of freedom of the sigma
    estimate), Boyles for Cpm. Degrees of freedom of the within sigma: :math:`\sum(n_i-1)`
    (pooled), :math:`\sum_i d_2^2/(2d_3^2)` (R̄/d2) and :math:`\sum_i c_4^2/(2(1-c_4^2))`
    (S̄/c4) by Patnaik's approximation (Minitab's 0.9k(n-1) and f_n k(n-1) are roundings of
    these), :math:`n-1` for MR̄/d2. Expected ppm: :math:`10^6\Phi((LSL-\bar x)/s)` and
    :math:`10^6\Phi((\bar x-USL)/s)`. Percentile method:
    :math:`P_p = (USL-LSL)/(X_{0.99865}-X_{0.00135})`,
    :math:`P_{pk} = \min\left(\frac{USL-X_{0.5}}{X_{0.99865}-X_{0.5}},
    \frac{X_{0.5}-LSL}{X_{0.5}-X_{0.00135}}\right)`.

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Ch. 8.
    Bissell, A. F. (1990). *Applied Statistics* 39(3), 331-340.
    Boyles, R. A. (1991). *Journal of Quality Technology* 23(1), 17-26.
    ISO 22514-2:2017, *Statistical methods in process management - Capability and performance -
    Part 2*, percentile method; Clements, J. A. (1989). Process capability calculations for
    non-normal distributions. *Quality Progress* 22(9), 95-100.
    Minitab, *Methods and formulas for Normal Capability Analysis* (degrees of freedom).

    Examples
    --------
    >>> res = capability([[74.030, 74.002, 74.019, 73.992, 74.008],
    ...                   [73.995, 73.992, 74.001, 74.011, 74.004],
    ...                   [73.988, 74.024, 74.021, 74.005, 74.002]], lsl=73.95, usl=74.05)
    >>> round(res.cp, 2), res.sigma_method
    (1.25, 'rbar')
    """
    conf = confidence_level(confidence)
    if method not in ("normal", "box-cox", "percentile"):
        raise invalid("method", f"must be normal, box-cox or percentile, got {method!r}")
    specs = _specs(lsl, usl, target)
    raw, groups = _values(data, sizes)
    n = int(raw.shape[0])
    if n < 2:
        raise invalid("data", f"capability needs at least 2 values, got {n}")
    chosen: SigmaMethod = sigma_within or ("mr" if groups is None else "rbar")
    warnings: list[str] = []
    normality = _normality(raw, alpha_normality, warnings)
    observed = _observed_ppm(raw, specs)
    if method == "percentile":
        return _percentile(raw, groups, n, specs, conf, chosen, normality, observed, warnings)
    scale = _Scale(raw, groups, specs)
    if method == "box-cox":
        scale = _box_cox_scale(scale, box_cox_exponent, alpha_normality, warnings)
    elif normality is not None and not normality.normal:
        warnings.append(
            f"Anderson-Darling rejects normality (A2={normality.statistic:.4g}, "
            f"p={normality.p_value:.3g}); the indices assume a normal distribution - use "
            "method 'box-cox' or 'percentile' for non-normal data"
        )
    x, (spec_lo, spec_hi, spec_t) = scale.x, scale.specs
    sw, dof_w = _within_sigma(scale.groups, x, chosen)
    mean = float(x.mean())
    so = float(x.std(ddof=1))
    dof_o = float(n - 1)
    idx = _indices(mean, sw, so, spec_lo, spec_hi, spec_t)
    ci, lower = _intervals(idx, n, dof_w, dof_o, conf)
    if math.isfinite(idx["cpm"]) and spec_t is not None:
        ci["cpm"] = cpm_interval(idx["cpm"], n, mean, so, spec_t, conf)
        lower["cpm"] = cpm_lower(idx["cpm"], n, mean, so, spec_t, conf)
    ppm = Ppm(
        expected_below=_expected_ppm(mean, so, spec_lo, 1),
        expected_above=_expected_ppm(mean, so, spec_hi, -1),
        observed_below=observed[0],
        observed_above=observed[1],
        expected_within_below=_expected_ppm(mean, sw, spec_lo, 1),
        expected_within_above=_expected_ppm(mean, sw, spec_hi, -1),
    )
    if sw == 0.0 or so == 0.0:
        warnings.append("zero variation in the data: indices are infinite or undefined")
    if n < 30:
        warnings.append(f"only {n} values: the confidence intervals are wide")
    return CapabilityResult(
        n=n,
        subgroups=n if groups is None else groups.count,
        mean=mean,
        sigma_within=sw,
        sigma_overall=so,
        lsl=specs[0],
        usl=specs[1],
        target=specs[2],
        ci=ci,
        lower_bounds=lower,
        confidence=conf,
        ppm=ppm,
        sigma_method=chosen,
        dof_within=dof_w,
        dof_overall=dof_o,
        method=method,
        normality=normality,
        normality_transformed=scale.normality,
        box_cox_lambda=scale.lam,
        warnings=tuple(warnings),
        **idx,
    )


def _specs(lsl: float | None, usl: float | None, target: float | None) -> _Specs:
    """The limits as floats, checked; the target defaults to the middle of two-sided limits."""
    lo = None if lsl is None else float(lsl)
    hi = None if usl is None else float(usl)
    tgt = None if target is None else float(target)
    _check_limits(lo, hi, tgt)
    if tgt is None and lo is not None and hi is not None:
        tgt = (lo + hi) / 2.0
    return lo, hi, tgt


def _values(data: ArrayLike, sizes: ArrayLike | None) -> tuple[FloatArray, Groups | None]:
    """All values, and their subgroups (None for individual values)."""
    arr = np.asarray(data, dtype=np.float64) if sizes is None else None
    if arr is not None and arr.ndim == 1:
        return finite_array("data", data), None
    groups = make_groups("data", data, sizes)
    return groups.flat, groups


def _normality(raw: FloatArray, alpha: float, warnings: list[str]) -> NormalityResult | None:
    """Anderson-Darling test of the data (from 8 values), with a warning when it was not run."""
    n = int(raw.shape[0])
    normality = anderson_darling(raw, alpha) if n >= 8 else None
    if normality is None:
        warnings.append(f"only {n} values: normality not checked (needs 8)")
    elif normality.subsampled:
        warnings.append(
            f"normality tested on an evenly spaced subsample of {normality.n:,} of the "
            f"{normality.n_total:,} values"
        )
    return normality


def _observed_ppm(raw: FloatArray, specs: _Specs) -> tuple[float, float]:
    """Parts per million of the values below LSL and above USL (NaN without that limit)."""
    lo, hi, _ = specs
    n = raw.shape[0]
    below = float(np.count_nonzero(raw < lo)) / n * 1e6 if lo is not None else _NAN
    above = float(np.count_nonzero(raw > hi)) / n * 1e6 if hi is not None else _NAN
    return below, above


@dataclass(frozen=True, slots=True, eq=False)
class _Scale:
    """The values, subgroups and limits the indices are computed on (transformed by Box-Cox)."""

    x: FloatArray
    groups: Groups | None
    specs: _Specs
    lam: float | None = None
    normality: NormalityResult | None = None


def _box_cox_scale(
    scale: _Scale, exponent: float | None, alpha: float, warnings: list[str]
) -> _Scale:
    """Values and limits through the Box-Cox transform, with the normality test after it."""
    raw, groups = scale.x, scale.groups
    lam = box_cox_lambda(raw) if exponent is None else float(exponent)
    if any(v <= 0 for v in scale.specs if v is not None):
        raise invalid("lsl/usl", "Box-Cox needs positive specification limits and target")
    x = box_cox(raw, lam)
    lo, hi, tgt = (None if v is None else float(box_cox([v], lam)[0]) for v in scale.specs)
    if groups is not None:
        table = None if groups.table is None else x.reshape(groups.table.shape)
        groups = Groups(x, groups.sizes, groups.starts, table)
    normality = anderson_darling(x, alpha) if x.shape[0] >= 8 else None
    if normality is not None and not normality.normal:
        warnings.append(
            f"data still not normal after Box-Cox (lambda={lam:.4g}, Anderson-Darling "
            f"p={normality.p_value:.3g}); consider method='percentile'"
        )
    return _Scale(x, groups, (lo, hi, tgt), lam, normality)


def _intervals(
    idx: dict[str, float], n: int, dof_w: float, dof_o: float, conf: float
) -> tuple[dict[str, Interval], dict[str, float]]:
    """Two-sided intervals and one-sided lower bounds of every index but Cpm (NaN if undefined).

    Cp and Pp: chi-square; the others: Bissell, with the degrees of freedom of their sigma.
    """
    ci: dict[str, Interval] = {}
    lower: dict[str, float] = {}
    for name in ("cp", "pp"):
        dof = dof_w if name == "cp" else dof_o
        if math.isfinite(idx[name]):
            ci[name] = cp_interval(idx[name], dof, conf)
            lower[name] = cp_lower(idx[name], dof, conf)
        else:
            ci[name], lower[name] = _nan_interval(conf, "chi-square"), _NAN
    for name in ("cpl", "cpu", "cpk", "ppl", "ppu", "ppk"):
        dof = dof_w if name.startswith("c") else dof_o
        if math.isfinite(idx[name]):
            ci[name] = cpk_interval(idx[name], n, conf, dof)
            lower[name] = cpk_lower(idx[name], n, conf, dof)
        else:
            ci[name], lower[name] = _nan_interval(conf, "bissell"), _NAN
    ci["cpm"], lower["cpm"] = _nan_interval(conf, "boyles"), _NAN
    return ci, lower


def _expected_ppm(mean: float, sd: float, limit: float | None, side: int) -> float:
    """Normal-model parts per million below ``limit`` (side 1) or above it (side -1)."""
    from scipy import special

    if limit is None:
        return _NAN
    if sd == 0.0:
        return 0.0 if side * (mean - limit) > 0 or mean == limit else 1e6
    return float(special.ndtr(side * (limit - mean) / sd)) * 1e6


def _percentile(
    raw: FloatArray,
    groups: Groups | None,
    n: int,
    specs: _Specs,
    conf: float,
    chosen: SigmaMethod,
    normality: NormalityResult | None,
    observed: tuple[float, float],
    warnings: list[str],
) -> CapabilityResult:
    """ISO 22514-2 percentile method: the Pp family from empirical quantiles, no intervals."""
    lsl, usl, target = specs
    observed_below, observed_above = observed
    q_lo, q_med, q_hi = (float(v) for v in np.quantile(raw, [0.00135, 0.5, 0.99865]))
    if n < 1000:
        warnings.append(
            f"percentile method with only {n} values: the 0.135 % and 99.865 % quantiles are "
            "extrapolated from the sample extremes and unreliable below about 1000 values"
        )
    warnings.append(
        "percentile method: Cp/Cpk need a within-subgroup model and are not computed; "
        "no confidence intervals"
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = _safe_div(usl - lsl, q_hi - q_lo) if lsl is not None and usl is not None else _NAN
        ppu = _safe_div(usl - q_med, q_hi - q_med) if usl is not None else _NAN
        ppl = _safe_div(q_med - lsl, q_med - q_lo) if lsl is not None else _NAN
    ppk = float(np.nanmin([ppl, ppu]))
    nan_ci = {name: _nan_interval(conf, "none") for name in INDICES}
    so = float(raw.std(ddof=1))
    return CapabilityResult(
        n=n,
        subgroups=n if groups is None else groups.count,
        mean=float(raw.mean()),
        sigma_within=_NAN,
        sigma_overall=so,
        lsl=lsl,
        usl=usl,
        target=target,
        cp=_NAN,
        cpl=_NAN,
        cpu=_NAN,
        cpk=_NAN,
        cpm=_NAN,
        pp=pp,
        ppl=ppl,
        ppu=ppu,
        ppk=ppk,
        ci=nan_ci,
        lower_bounds=dict.fromkeys(INDICES, _NAN),
        confidence=conf,
        ppm=Ppm(_NAN, _NAN, observed_below, observed_above, _NAN, _NAN),
        sigma_method=chosen,
        dof_within=_NAN,
        dof_overall=float(n - 1),
        method="percentile",
        normality=normality,
        warnings=tuple(warnings),
    )
