"""Control charts: X̄-R, X̄-S, I-MR, p, np, c, u, EWMA and tabular CUSUM, with phase I / phase II.

Every chart returns an :class:`SpcResult`: the primary chart, the secondary (dispersion) chart
for variables data, which points formed the limits, and which reference points were excluded.
Limits are computed per point, so varying subgroup or sample sizes get exact limits.

Phase I / phase II: ``phase1=K`` (or a boolean ``reference`` mask, e.g. a date range chosen by
the caller) says which points estimate the centre and sigma; every point is then judged against
those frozen limits. ``exclude_out_of_control=True`` repeats the estimate without the reference
points beyond the 3-sigma limits of either chart until none is left, and reports them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from phasegate.domain.errors import invalid
from phasegate.stats._checks import (
    BoolArray,
    FloatArray,
    IntArray,
    counts_array,
    finite_array,
    positive,
    sizes_array,
)
from phasegate.stats._groups import Groups, make_groups, within_sigma
from phasegate.stats.constants import _c4, _d2, _d3, constants_for_sizes
from phasegate.stats.rules import RuleSet, RuleViolations, check_rules, parse_rules, standardize

__all__ = [
    "ChartResult",
    "SpcResult",
    "c_chart",
    "cusum",
    "ewma",
    "imr",
    "np_chart",
    "p_chart",
    "u_chart",
    "xbar_r",
    "xbar_s",
]

Rules = str | Sequence[int] | RuleSet | None


@dataclass(frozen=True, slots=True, eq=False)
class ChartResult:
    """One control chart: plotted values and their limits, per point.

    Attributes
    ----------
    chart : str
        ``"xbar"``, ``"r"``, ``"s"``, ``"i"``, ``"mr"``, ``"p"``, ``"np"``, ``"c"``, ``"u"``,
        ``"ewma"`` or ``"cusum"``.
    values : ndarray
        The plotted statistic (subgroup mean, range, proportion, EWMA, standardized mean...).
    center_line, lcl, ucl : ndarray
        Centre line and control limits at each point (constant unless sizes vary, or EWMA).
    sigma_point : ndarray
        Standard error of each plotted value; zones are ``center_line ± k * sigma_point``.
    center, lower_limit, upper_limit : float
        Nominal centre and limits: the limits themselves when constant, the limits for the
        average sample size when sizes vary, and the asymptotic limits of an EWMA.
    sigma : float
        Estimated process standard deviation of one observation (of one unit for attributes
        data: :math:`\\sqrt{\\bar p(1-\\bar p)}`, :math:`\\sqrt{\\bar c}`, :math:`\\sqrt{\\bar u}`);
        for a dispersion chart, the standard deviation of its statistic at the nominal size.
    sizes : ndarray
        Subgroup or sample size of each point.
    violations : RuleViolations
        Rule violations per point.
    first_point : int
        Index of the subgroup the first value belongs to (1 for a moving-range chart).
    upper, lower : ndarray or None
        CUSUM only: the upper and lower cumulative sums (lower is reported as negative).
    parameters : dict
        Chart parameters (``lambda``, ``nsigmas``, ``k``, ``h``, ``target``...).
    """

    chart: str
    values: FloatArray
    center_line: FloatArray
    lcl: FloatArray
    ucl: FloatArray
    sigma_point: FloatArray
    center: float
    lower_limit: float
    upper_limit: float
    sigma: float
    sizes: IntArray
    violations: RuleViolations
    first_point: int = 0
    upper: FloatArray | None = None
    lower: FloatArray | None = None
    parameters: dict[str, float] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Number of plotted points."""
        return int(self.values.shape[0])

    def limits_vary(self) -> bool:
        """True when the limits are not the same at every point."""
        return bool(np.ptp(self.ucl) > 0 or np.ptp(self.lcl) > 0)

    def out_of_control(self) -> BoolArray:
        """Points outside their control limits."""
        return (self.values > self.ucl) | (self.values < self.lcl)

    def signals(self) -> BoolArray:
        """Points that break at least one of the checked rules."""
        return self.violations.any()


@dataclass(frozen=True, slots=True, eq=False)
class SpcResult:
    """A control chart analysis: the primary chart, its dispersion chart, and the phase I basis.

    Attributes
    ----------
    chart : str
        ``"xbar-r"``, ``"xbar-s"``, ``"imr"``, ``"p"``, ``"np"``, ``"c"``, ``"u"``, ``"ewma"``,
        ``"cusum"``.
    primary : ChartResult
        The location (or attributes) chart.
    secondary : ChartResult or None
        The R, S or MR chart for variables data.
    reference : ndarray of bool
        Points (subgroups) whose data set the limits, after any exclusion.
    phase1 : int or None
        Number of leading points in the reference period, if given as a count.
    excluded : tuple of int
        Reference points dropped by iterative exclusion of out-of-control points.
    iterations : int
        Number of limit estimates made (1 without exclusion).
    """

    chart: str
    primary: ChartResult
    secondary: ChartResult | None
    reference: BoolArray
    phase1: int | None
    excluded: tuple[int, ...]
    iterations: int = 1

    def phase2(self) -> BoolArray:
        """Points judged against frozen limits (outside the reference period)."""
        return ~self.reference & ~self._excluded_mask()

    def _excluded_mask(self) -> BoolArray:
        mask = np.zeros(self.reference.shape[0], dtype=np.bool_)
        mask[list(self.excluded)] = True
        return mask


# --------------------------------------------------------------------------------------------
# reference period


def _reference_mask(
    count: int, phase1: int | None, reference: ArrayLike | None, minimum: int
) -> BoolArray:
    if phase1 is not None and reference is not None:
        raise invalid("phase1", "give either phase1 (a count) or reference (a mask), not both")
    if phase1 is not None:
        if isinstance(phase1, bool) or not isinstance(phase1, int | np.integer):
            raise invalid("phase1", f"must be a whole number of subgroups, got {phase1!r}")
        if not minimum <= phase1 <= count:
            raise invalid(
                "phase1",
                f"must be between {minimum} and the number of subgroups ({count}), got {phase1}",
            )
        mask = np.zeros(count, dtype=np.bool_)
        mask[: int(phase1)] = True
        return mask
    if reference is not None:
        mask = np.asarray(reference, dtype=np.bool_)
        if mask.shape != (count,):
            raise invalid("reference", f"needs one flag per subgroup ({count}), got {mask.shape}")
        chosen = int(mask.sum())
        if chosen < minimum:
            raise invalid(
                "reference", f"selects {chosen} subgroups; at least {minimum} are needed for limits"
            )
        return mask.copy()
    if count < minimum:
        raise invalid("data", f"{count} subgroups given; at least {minimum} are needed for limits")
    return np.ones(count, dtype=np.bool_)


def _iterate(
    reference: BoolArray,
    exclude: bool,
    minimum: int,
    fit: Callable[[BoolArray], tuple[ChartResult, ChartResult | None]],
) -> tuple[ChartResult, ChartResult | None, BoolArray, tuple[int, ...], int]:
    """Fit limits on ``reference``; optionally drop out-of-limit reference points and refit."""
    ref = reference
    dropped: list[int] = []
    iterations = 0
    while True:
        iterations += 1
        primary, secondary = fit(ref)
        if not exclude:
            return primary, secondary, ref, (), iterations
        bad = primary.out_of_control()
        if secondary is not None:
            sec_bad = secondary.out_of_control()
            bad = bad.copy()
            bad[secondary.first_point :] |= sec_bad
        bad &= ref
        if not bad.any():
            return primary, secondary, ref, tuple(sorted(dropped)), iterations
        ref = ref & ~bad
        dropped.extend(np.flatnonzero(bad).tolist())
        if int(ref.sum()) < minimum:
            raise invalid(
                "reference",
                f"excluding out-of-control subgroups {sorted(dropped)} leaves {int(ref.sum())}; "
                f"at least {minimum} are needed for limits",
            )


def _chart(
    name: str,
    values: FloatArray,
    center_line: FloatArray,
    sigma_point: FloatArray,
    sizes: IntArray,
    sigma: float,
    rules: RuleSet,
    *,
    nominal_center: float,
    nominal_sigma_point: float,
    floor: float | None = None,
    ceiling: FloatArray | float | None = None,
    first_point: int = 0,
    parameters: dict[str, float] | None = None,
) -> ChartResult:
    lcl = center_line - 3.0 * sigma_point
    ucl = center_line + 3.0 * sigma_point
    lower = nominal_center - 3.0 * nominal_sigma_point
    upper = nominal_center + 3.0 * nominal_sigma_point
    if floor is not None:
        lcl = np.maximum(lcl, floor)
        lower = max(lower, floor)
    if ceiling is not None:
        ucl = np.minimum(ucl, ceiling)
        if np.ndim(ceiling) == 0:
            upper = min(upper, float(np.asarray(ceiling)))
    z = standardize(values, center_line, sigma_point)
    raw = values if rules.rules and (3 in rules.rules or 4 in rules.rules) else None
    return ChartResult(
        chart=name,
        values=values,
        center_line=center_line,
        lcl=lcl,
        ucl=ucl,
        sigma_point=sigma_point,
        center=nominal_center,
        lower_limit=lower,
        upper_limit=upper,
        sigma=sigma,
        sizes=sizes,
        violations=check_rules(z, rules, values=raw),
        first_point=first_point,
        parameters=dict(parameters or {}),
    )


def _nominal_size(sizes: IntArray) -> int:
    return round(float(sizes.mean()))


# --------------------------------------------------------------------------------------------
# variables charts


def _xbar_chart(
    groups: Groups,
    means: FloatArray,
    ref: BoolArray,
    sigma_hat: float,
    center: float | None,
    rules: RuleSet,
) -> ChartResult:
    if center is None:
        n_ref = groups.sizes[ref]
        center = float(np.sum(means[ref] * n_ref) / np.sum(n_ref))
    if groups.equal:
        se = np.full(groups.count, sigma_hat / math.sqrt(int(groups.sizes[0])))
    else:
        se = sigma_hat / np.sqrt(groups.sizes)
    return _chart(
        "xbar",
        means,
        np.full(groups.count, center),
        se,
        groups.sizes,
        sigma_hat,
        rules,
        nominal_center=center,
        nominal_sigma_point=sigma_hat / math.sqrt(_nominal_size(groups.sizes)),
    )


def _dispersion_chart(
    name: Literal["r", "s"],
    groups: Groups,
    stat: FloatArray,
    sigma_hat: float,
    rules: RuleSet,
) -> ChartResult:
    if groups.equal:
        n = int(groups.sizes[0])
        mean_factor = _d2(n) if name == "r" else _c4(n)
        sd_factor = _d3(n) if name == "r" else math.sqrt(1.0 - _c4(n) ** 2)
        center_line = np.full(groups.count, mean_factor * sigma_hat)
        sigma_point = np.full(groups.count, sd_factor * sigma_hat)
    else:
        d2v, d3v, c4v = constants_for_sizes(groups.sizes, "sizes")
        if name == "r":
            center_line, sigma_point = d2v * sigma_hat, d3v * sigma_hat
        else:
            center_line, sigma_point = c4v * sigma_hat, np.sqrt(1.0 - c4v**2) * sigma_hat
    n_nom = _nominal_size(groups.sizes)
    if name == "r":
        nominal_center, nominal_sd = _d2(n_nom) * sigma_hat, _d3(n_nom) * sigma_hat
    else:
        nominal_center = _c4(n_nom) * sigma_hat
        nominal_sd = math.sqrt(1.0 - _c4(n_nom) ** 2) * sigma_hat
    return _chart(
        name,
        stat,
        center_line,
        sigma_point,
        groups.sizes,
        nominal_sd,
        rules,
        nominal_center=nominal_center,
        nominal_sigma_point=nominal_sd,
        floor=0.0,
    )


def _subgroup_chart(
    kind: Literal["r", "s"],
    data: ArrayLike,
    sizes: ArrayLike | None,
    phase1: int | None,
    reference: ArrayLike | None,
    exclude_out_of_control: bool,
    rules: Rules,
    secondary_rules: Rules,
    center: float | None,
    sigma: float | None,
) -> SpcResult:
    groups = make_groups("data", data, sizes)
    if int(groups.sizes.min()) < 2:
        i = int(np.argmin(groups.sizes))
        raise invalid(
            f"subgroup[{i}]",
            f"has {int(groups.sizes[i])} value; X̄-{kind.upper()} charts need at least 2 per "
            "subgroup (use an I-MR chart for individual values)",
        )
    primary_rules = parse_rules(rules)
    disp_rules = parse_rules(secondary_rules)
    means = groups.means()
    stat = groups.ranges() if kind == "r" else groups.stds(means)
    given_sigma = None if sigma is None else positive("sigma", sigma)
    ref0 = _reference_mask(groups.count, phase1, reference, 2)

    def fit(ref: BoolArray) -> tuple[ChartResult, ChartResult | None]:
        sigma_hat = given_sigma
        if sigma_hat is None:
            sigma_hat = within_sigma(stat[ref], groups.sizes[ref], kind)[0]
        primary = _xbar_chart(groups, means, ref, sigma_hat, center, primary_rules)
        secondary = _dispersion_chart(kind, groups, stat, sigma_hat, disp_rules)
        return primary, secondary

    primary, secondary, ref, excluded, iterations = _iterate(ref0, exclude_out_of_control, 2, fit)
    return SpcResult(f"xbar-{kind}", primary, secondary, ref, phase1, excluded, iterations)


def xbar_r(
    data: ArrayLike,
    sizes: ArrayLike | None = None,
    *,
    phase1: int | None = None,
    reference: ArrayLike | None = None,
    exclude_out_of_control: bool = False,
    rules: Rules = "nelson",
    secondary_rules: Rules = (1,),
    center: float | None = None,
    sigma: float | None = None,
) -> SpcResult:
    r"""X̄ and R charts.

    Parameters
    ----------
    data : array_like
        A 2-D (subgroups, n) array, or 1-D values in subgroup order together with ``sizes``.
    sizes : array_like of int, optional
        Size of each consecutive subgroup, for 1-D ``data``; sizes may vary.
    phase1 : int, optional
        Estimate the limits from the first ``phase1`` subgroups only (phase I); all subgroups
        are judged against them.
    reference : array_like of bool, optional
        Alternative to ``phase1``: one flag per subgroup marking the reference period.
    exclude_out_of_control : bool, default False
        Drop reference subgroups outside the 3-sigma limits of either chart and re-estimate,
        until none is left; the dropped subgroups are reported in ``excluded``.
    rules : str or sequence of int, default "nelson"
        Run rules for the X̄ chart (see :func:`phasegate.stats.rules.check_rules`).
    secondary_rules : str or sequence of int, default (1,)
        Run rules for the R chart; only rule 1 by default, because the range is skewed and the
        zone rules assume a symmetric statistic.
    center, sigma : float, optional
        Known (standard) values of the process mean and standard deviation.

    Returns
    -------
    SpcResult
        ``primary`` is the X̄ chart and ``secondary`` the R chart.

    Notes
    -----
    :math:`\hat\sigma = \bar R / d_2(n)` (for unequal sizes, the weighted mean of
    :math:`R_i/d_2(n_i)` with weights :math:`d_2^2/d_3^2`). X̄ limits:
    :math:`\bar{\bar x} \pm 3\hat\sigma/\sqrt{n_i}` (:math:`= \bar{\bar x} \pm A_2\bar R` for equal
    sizes). R limits: :math:`d_2\hat\sigma \pm 3 d_3\hat\sigma`, floored at 0
    (:math:`= D_3\bar R, D_4\bar R`).

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 6.2.
    NIST/SEMATECH e-Handbook of Statistical Methods, Sec. 6.3.2.1.

    Examples
    --------
    >>> res = xbar_r([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [1.5, 2.5, 3.5]])
    >>> round(res.primary.center, 3), round(res.secondary.center, 3)
    (2.5, 2.0)
    """
    return _subgroup_chart(
        "r", data, sizes, phase1, reference, exclude_out_of_control, rules, secondary_rules,
        center, sigma,
    )  # fmt: skip


def xbar_s(
    data: ArrayLike,
    sizes: ArrayLike | None = None,
    *,
    phase1: int | None = None,
    reference: ArrayLike | None = None,
    exclude_out_of_control: bool = False,
    rules: Rules = "nelson",
    secondary_rules: Rules = (1,),
    center: float | None = None,
    sigma: float | None = None,
) -> SpcResult:
    r"""X̄ and S charts, for equal or variable subgroup sizes.

    Parameters
    ----------
    data : array_like
        A 2-D (subgroups, n) array, or 1-D values in subgroup order together with ``sizes``.
    sizes : array_like of int, optional
        Size of each consecutive subgroup, for 1-D ``data``.
    phase1, reference, exclude_out_of_control, rules, secondary_rules, center, sigma
        As for :func:`xbar_r`.

    Returns
    -------
    SpcResult
        ``primary`` is the X̄ chart and ``secondary`` the S chart.

    Notes
    -----
    :math:`\hat\sigma = \bar s / c_4(n)` (for unequal sizes the weighted mean of
    :math:`s_i/c_4(n_i)` with weights :math:`c_4^2/(1-c_4^2)`). X̄ limits
    :math:`\bar{\bar x} \pm 3\hat\sigma/\sqrt{n_i}` (:math:`A_3\bar s`); S limits
    :math:`c_4\hat\sigma \pm 3\hat\sigma\sqrt{1-c_4^2}` floored at 0 (:math:`B_3\bar s, B_4\bar s`).

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 6.3.
    Minitab, *Methods and formulas for Xbar-S chart* (unbiased weighting for unequal sizes).

    Examples
    --------
    >>> res = xbar_s([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [1.5, 2.5, 3.5]])
    >>> round(res.secondary.center, 3)
    1.0
    """
    return _subgroup_chart(
        "s", data, sizes, phase1, reference, exclude_out_of_control, rules, secondary_rules,
        center, sigma,
    )  # fmt: skip


def imr(
    values: ArrayLike,
    *,
    phase1: int | None = None,
    reference: ArrayLike | None = None,
    exclude_out_of_control: bool = False,
    rules: Rules = "nelson",
    secondary_rules: Rules = (1,),
    center: float | None = None,
    sigma: float | None = None,
) -> SpcResult:
    r"""Individuals and moving-range charts.

    Parameters
    ----------
    values : array_like
        Individual measurements in time order.
    phase1, reference, exclude_out_of_control, rules, secondary_rules, center, sigma
        As for :func:`xbar_r`; a moving range is used for sigma only when both of its points are
        in the reference period.

    Returns
    -------
    SpcResult
        ``primary`` is the I chart, ``secondary`` the MR chart (its first point belongs to the
        second observation).

    Notes
    -----
    :math:`MR_i = |x_i - x_{i-1}|`, :math:`\hat\sigma = \overline{MR}/d_2(2)`; I limits
    :math:`\bar x \pm 3\hat\sigma`; MR limits :math:`0` and :math:`D_4(2)\,\overline{MR}`.

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 6.4.
    NIST/SEMATECH e-Handbook of Statistical Methods, Sec. 6.3.2.2.

    Examples
    --------
    >>> res = imr([10.0, 12.0, 11.0, 13.0])
    >>> round(res.primary.center, 2), round(res.secondary.center, 3)
    (11.5, 1.667)
    """
    x = finite_array("values", values)
    m = x.shape[0]
    ones = np.ones(m, dtype=np.int64)
    primary_rules = parse_rules(rules)
    disp_rules = parse_rules(secondary_rules)
    mr = np.abs(np.diff(x))
    given_sigma = None if sigma is None else positive("sigma", sigma)
    ref0 = _reference_mask(m, phase1, reference, 2)
    dd2, dd3 = _d2(2), _d3(2)

    def fit(ref: BoolArray) -> tuple[ChartResult, ChartResult | None]:
        pair_ref = ref[1:] & ref[:-1]
        sigma_hat = given_sigma
        if sigma_hat is None:
            if not pair_ref.any():
                raise invalid(
                    "reference", "needs two consecutive individual values to form a moving range"
                )
            sigma_hat = float(mr[pair_ref].mean()) / dd2
        mu = float(x[ref].mean()) if center is None else float(center)
        primary = _chart(
            "i", x, np.full(m, mu), np.full(m, sigma_hat), ones, sigma_hat, primary_rules,
            nominal_center=mu, nominal_sigma_point=sigma_hat,
        )  # fmt: skip
        secondary = _chart(
            "mr", mr, np.full(m - 1, dd2 * sigma_hat), np.full(m - 1, dd3 * sigma_hat),
            ones[1:] * 2, dd3 * sigma_hat, disp_rules,
            nominal_center=dd2 * sigma_hat, nominal_sigma_point=dd3 * sigma_hat, floor=0.0,
            first_point=1,
        )  # fmt: skip
        return primary, secondary

    primary, secondary, ref, excluded, iterations = _iterate(ref0, exclude_out_of_control, 2, fit)
    return SpcResult("imr", primary, secondary, ref, phase1, excluded, iterations)


# --------------------------------------------------------------------------------------------
# attributes charts


def _attribute_inputs(
    counts: ArrayLike, sizes: ArrayLike | None, bounded: bool
) -> tuple[FloatArray, IntArray]:
    c = counts_array("counts", counts)
    if sizes is None:
        raise invalid("sizes", "sample sizes are required for this chart")
    n = sizes_array("sizes", sizes, c.shape[0])
    if bounded:
        over = np.flatnonzero(c > n)
        if over.size:
            i = int(over[0])
            raise invalid(
                f"counts[{i}]",
                f"{c[i]:g} nonconforming is more than the sample size {int(n[i])}",
            )
    return c, n


def _attribute_result(
    chart: str,
    make: Callable[[BoolArray], ChartResult],
    count: int,
    phase1: int | None,
    reference: ArrayLike | None,
    exclude: bool,
) -> SpcResult:
    ref0 = _reference_mask(count, phase1, reference, 2)

    def fit(ref: BoolArray) -> tuple[ChartResult, ChartResult | None]:
        return make(ref), None

    primary, _, ref, excluded, iterations = _iterate(ref0, exclude, 2, fit)
    return SpcResult(chart, primary, None, ref, phase1, excluded, iterations)


def p_chart(
    counts: ArrayLike,
    sizes: ArrayLike,
    *,
    phase1: int | None = None,
    reference: ArrayLike | None = None,
    exclude_out_of_control: bool = False,
    rules: Rules = "nelson",
) -> SpcResult:
    r"""Fraction-nonconforming (p) chart with limits per point for varying sample sizes.

    Parameters
    ----------
    counts : array_like
        Nonconforming units in each sample.
    sizes : array_like of int
        Sample sizes (each at least the count).
    phase1, reference, exclude_out_of_control, rules
        As for :func:`xbar_r`.

    Returns
    -------
    SpcResult
        ``primary`` plots :math:`\hat p_i = d_i/n_i`.

    Notes
    -----
    :math:`\bar p = \sum d_i / \sum n_i` over the reference samples; limits
    :math:`\bar p \pm 3\sqrt{\bar p(1-\bar p)/n_i}`, clipped to [0, 1].

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 7.2.
    NIST/SEMATECH e-Handbook of Statistical Methods, Sec. 6.3.3.2.

    Examples
    --------
    >>> res = p_chart([5, 3, 4], [50, 50, 50])
    >>> round(res.primary.center, 4)
    0.08
    """
    c, n = _attribute_inputs(counts, sizes, bounded=True)
    rs = parse_rules(rules)
    n_nom = _nominal_size(n)

    def make(ref: BoolArray) -> ChartResult:
        pbar = float(c[ref].sum() / n[ref].sum())
        unit_sd = math.sqrt(pbar * (1.0 - pbar))
        return _chart(
            "p", c / n, np.full(c.shape[0], pbar), unit_sd / np.sqrt(n), n, unit_sd, rs,
            nominal_center=pbar, nominal_sigma_point=unit_sd / math.sqrt(n_nom),
            floor=0.0, ceiling=1.0,
        )  # fmt: skip

    return _attribute_result("p", make, c.shape[0], phase1, reference, exclude_out_of_control)


def np_chart(
    counts: ArrayLike,
    sizes: ArrayLike,
    *,
    phase1: int | None = None,
    reference: ArrayLike | None = None,
    exclude_out_of_control: bool = False,
    rules: Rules = "nelson",
) -> SpcResult:
    r"""Number-nonconforming (np) chart; with varying sizes the centre line varies too.

    Parameters
    ----------
    counts : array_like
        Nonconforming units in each sample.
    sizes : array_like of int
        Sample sizes.
    phase1, reference, exclude_out_of_control, rules
        As for :func:`xbar_r`.

    Returns
    -------
    SpcResult
        ``primary`` plots the counts :math:`d_i`.

    Notes
    -----
    Centre :math:`n_i\bar p`, limits :math:`n_i\bar p \pm 3\sqrt{n_i\bar p(1-\bar p)}`, clipped
    to [0, n_i].

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 7.2.1.

    Examples
    --------
    >>> res = np_chart([5, 3, 4], [50, 50, 50])
    >>> round(res.primary.center, 2)
    4.0
    """
    c, n = _attribute_inputs(counts, sizes, bounded=True)
    rs = parse_rules(rules)
    n_nom = _nominal_size(n)
    nf = n.astype(np.float64)

    def make(ref: BoolArray) -> ChartResult:
        pbar = float(c[ref].sum() / n[ref].sum())
        unit_sd = math.sqrt(pbar * (1.0 - pbar))
        return _chart(
            "np", c, nf * pbar, unit_sd * np.sqrt(nf), n, unit_sd, rs,
            nominal_center=n_nom * pbar, nominal_sigma_point=unit_sd * math.sqrt(n_nom),
            floor=0.0, ceiling=nf, parameters={"p_bar": pbar},
        )  # fmt: skip

    return _attribute_result("np", make, c.shape[0], phase1, reference, exclude_out_of_control)


def c_chart(
    counts: ArrayLike,
    sizes: ArrayLike | None = None,
    *,
    phase1: int | None = None,
    reference: ArrayLike | None = None,
    exclude_out_of_control: bool = False,
    rules: Rules = "nelson",
) -> SpcResult:
    r"""Nonconformities (c) chart for equal inspection units.

    Parameters
    ----------
    counts : array_like
        Nonconformities found in each inspection unit.
    sizes : array_like of int, optional
        Accepted only when all equal (a c chart assumes equal inspection units; use
        :func:`u_chart` when they differ).
    phase1, reference, exclude_out_of_control, rules
        As for :func:`xbar_r`.

    Returns
    -------
    SpcResult
        ``primary`` plots the counts.

    Notes
    -----
    :math:`\bar c` over the reference units; limits :math:`\bar c \pm 3\sqrt{\bar c}`, floored
    at 0.

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 7.3.1.
    NIST/SEMATECH e-Handbook of Statistical Methods, Sec. 6.3.3.1.

    Examples
    --------
    >>> res = c_chart([16, 14, 28, 16, 12, 20])
    >>> round(res.primary.upper_limit, 2)
    30.28
    """
    c = counts_array("counts", counts)
    if sizes is not None:
        n = sizes_array("sizes", sizes, c.shape[0])
        if np.ptp(n) > 0:
            i = int(np.flatnonzero(n != n[0])[0])
            raise invalid(
                f"sizes[{i}]",
                f"is {int(n[i])} but sizes[0] is {int(n[0])}: a c chart needs equal inspection "
                "units; use a u chart for varying sizes",
            )
    ones = np.ones(c.shape[0], dtype=np.int64)
    rs = parse_rules(rules)

    def make(ref: BoolArray) -> ChartResult:
        cbar = float(c[ref].mean())
        sd = math.sqrt(cbar)
        return _chart(
            "c", c, np.full(c.shape[0], cbar), np.full(c.shape[0], sd), ones, sd, rs,
            nominal_center=cbar, nominal_sigma_point=sd, floor=0.0,
        )  # fmt: skip

    return _attribute_result("c", make, c.shape[0], phase1, reference, exclude_out_of_control)


def u_chart(
    counts: ArrayLike,
    sizes: ArrayLike,
    *,
    phase1: int | None = None,
    reference: ArrayLike | None = None,
    exclude_out_of_control: bool = False,
    rules: Rules = "nelson",
) -> SpcResult:
    r"""Nonconformities-per-unit (u) chart with limits per point.

    Parameters
    ----------
    counts : array_like
        Nonconformities in each sample.
    sizes : array_like of int
        Inspection units in each sample.
    phase1, reference, exclude_out_of_control, rules
        As for :func:`xbar_r`.

    Returns
    -------
    SpcResult
        ``primary`` plots :math:`u_i = c_i/n_i`.

    Notes
    -----
    :math:`\bar u = \sum c_i/\sum n_i`; limits :math:`\bar u \pm 3\sqrt{\bar u/n_i}`, floored at 0.

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 7.3.2.

    Examples
    --------
    >>> res = u_chart([10, 12, 8], [5, 5, 5])
    >>> round(res.primary.center, 2)
    2.0
    """
    c, n = _attribute_inputs(counts, sizes, bounded=False)
    rs = parse_rules(rules)
    n_nom = _nominal_size(n)

    def make(ref: BoolArray) -> ChartResult:
        ubar = float(c[ref].sum() / n[ref].sum())
        unit_sd = math.sqrt(ubar)
        return _chart(
            "u", c / n, np.full(c.shape[0], ubar), unit_sd / np.sqrt(n), n, unit_sd, rs,
            nominal_center=ubar, nominal_sigma_point=unit_sd / math.sqrt(n_nom), floor=0.0,
        )  # fmt: skip

    return _attribute_result("u", make, c.shape[0], phase1, reference, exclude_out_of_control)


# --------------------------------------------------------------------------------------------
# small-shift charts


@dataclass(frozen=True, slots=True, eq=False)
class _Location:
    """What EWMA and CUSUM chart: per-point means and sizes, and the in-control mean and sigma."""

    means: FloatArray
    sizes: IntArray
    reference: BoolArray
    mu0: float
    sigma: float


def _location(
    data: ArrayLike,
    sizes: ArrayLike | None,
    phase1: int | None,
    reference: ArrayLike | None,
    target: float | None,
    sigma: float | None,
) -> _Location:
    """Per-point means and sizes; target and sigma as given, else from the reference period.

    Sigma is MR̄/d2 for individual values and R̄/d2 for subgroups; the target is the mean of the
    reference values.
    """
    arr = np.asarray(data, dtype=np.float64) if sizes is None else None
    individuals = arr is not None and arr.ndim == 1
    if arr is not None and individuals:
        means = finite_array("data", arr)
        n = np.ones(means.shape[0], dtype=np.int64)
        spread = np.abs(np.diff(means))
    else:
        groups = make_groups("data", data, sizes)
        if int(groups.sizes.min()) < 2:
            raise invalid("sizes", "every subgroup needs at least 2 values to estimate sigma")
        means, n, spread = groups.means(), groups.sizes, groups.ranges()
    ref = _reference_mask(means.shape[0], phase1, reference, 2)
    if sigma is not None:
        sd = positive("sigma", sigma)
    elif individuals:
        pairs = ref[1:] & ref[:-1]
        if not pairs.any():
            raise invalid("reference", "needs two consecutive values to estimate sigma")
        sd = float(spread[pairs].mean()) / _d2(2)
    else:
        sd = within_sigma(spread[ref], n[ref], "r")[0]
    mu0 = float(np.sum(means[ref] * n[ref]) / np.sum(n[ref])) if target is None else float(target)
    return _Location(means, n, ref, mu0, sd)


def ewma(
    data: ArrayLike,
    sizes: ArrayLike | None = None,
    *,
    lam: float = 0.2,
    nsigmas: float = 3.0,
    target: float | None = None,
    sigma: float | None = None,
    phase1: int | None = None,
    reference: ArrayLike | None = None,
) -> SpcResult:
    r"""Exponentially weighted moving average chart with exact time-varying limits.

    Parameters
    ----------
    data : array_like
        Individual values (1-D), a 2-D (subgroups, n) array, or 1-D values with ``sizes``.
    sizes : array_like of int, optional
        Subgroup sizes for 1-D subgrouped data.
    lam : float, default 0.2
        Weight :math:`\lambda` of the newest point, in (0, 1].
    nsigmas : float, default 3
        Width :math:`L` of the limits in standard errors of the EWMA.
    target : float, optional
        In-control mean :math:`\mu_0`; default the mean of the reference period.
    sigma : float, optional
        Process standard deviation; default :math:`\overline{MR}/d_2` (individuals) or
        :math:`\bar R/d_2` (subgroups) of the reference period.
    phase1, reference
        Reference period, as for :func:`xbar_r`.

    Returns
    -------
    SpcResult
        ``primary`` plots :math:`z_i`; ``violations`` holds rule 1 (beyond the limits) only,
        since the zone rules do not apply to an autocorrelated statistic.

    Notes
    -----
    :math:`z_i = \lambda\bar x_i + (1-\lambda) z_{i-1}`, :math:`z_0 = \mu_0`;
    :math:`\operatorname{Var} z_i = \lambda^2\sigma^2\sum_{j\le i}(1-\lambda)^{2(i-j)}/n_j`,
    which for constant n is :math:`\frac{\sigma^2}{n}\frac{\lambda}{2-\lambda}
    [1-(1-\lambda)^{2i}]`; limits :math:`\mu_0 \pm L\sqrt{\operatorname{Var} z_i}`. Both
    recursions run as linear filters (no Python loop).

    References
    ----------
    Roberts, S. W. (1959). Control chart tests based on geometric moving averages.
    *Technometrics* 1, 239-250.
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 9.2.
    NIST/SEMATECH e-Handbook of Statistical Methods, Sec. 6.3.2.4.

    Examples
    --------
    >>> res = ewma([9.45, 7.99, 9.29], lam=0.1, nsigmas=2.7, target=10.0, sigma=1.0)
    >>> [round(float(v), 4) for v in res.primary.values[:2]]
    [9.945, 9.7495]
    """
    from scipy import signal

    if not 0.0 < float(lam) <= 1.0:
        raise invalid("lambda", f"must be in (0, 1], got {lam!r}")
    width = positive("nsigmas", nsigmas)
    loc = _location(data, sizes, phase1, reference, target, sigma)
    means, n, ref, sd, mu0 = loc.means, loc.sizes, loc.reference, loc.sigma, loc.mu0
    decay = 1.0 - float(lam)
    z, _ = signal.lfilter([lam], [1.0, -decay], means, zi=[decay * mu0])
    var = signal.lfilter([lam * lam], [1.0, -decay * decay], sd * sd / n)
    se = np.sqrt(var)
    n_nom = _nominal_size(n)
    se_inf = sd * math.sqrt(lam / ((2.0 - lam) * n_nom))
    lcl, ucl = mu0 - width * se, mu0 + width * se
    flags = np.where((z > ucl) | (z < lcl), np.uint16(1), np.uint16(0)).astype(np.uint16)
    primary = ChartResult(
        chart="ewma",
        values=np.asarray(z, dtype=np.float64),
        center_line=np.full(means.shape[0], mu0),
        lcl=lcl,
        ucl=ucl,
        sigma_point=se,
        center=mu0,
        lower_limit=mu0 - width * se_inf,
        upper_limit=mu0 + width * se_inf,
        sigma=sd,
        sizes=n,
        violations=RuleViolations(RuleSet("nelson", (1,)), flags),
        parameters={"lambda": float(lam), "nsigmas": width, "target": mu0},
    )
    return SpcResult("ewma", primary, None, ref, phase1, ())


def cusum(
    data: ArrayLike,
    sizes: ArrayLike | None = None,
    *,
    k: float = 0.5,
    h: float = 5.0,
    target: float | None = None,
    sigma: float | None = None,
    headstart: float = 0.0,
    phase1: int | None = None,
    reference: ArrayLike | None = None,
) -> SpcResult:
    r"""Tabular (two one-sided) CUSUM in standard-error units.

    Parameters
    ----------
    data : array_like
        Individual values (1-D), a 2-D (subgroups, n) array, or 1-D values with ``sizes``.
    sizes : array_like of int, optional
        Subgroup sizes for 1-D subgrouped data.
    k : float, default 0.5
        Reference value (allowance) in standard errors; half the shift to detect.
    h : float, default 5
        Decision interval in standard errors.
    target, sigma
        In-control mean and process standard deviation, estimated from the reference period
        when not given (as for :func:`ewma`).
    headstart : float, default 0
        Fast initial response: starting value of both sums, in standard errors (e.g. h/2).
    phase1, reference
        Reference period, as for :func:`xbar_r`.

    Returns
    -------
    SpcResult
        ``primary.values`` are the standardized means :math:`y_i`; ``primary.upper`` and
        ``primary.lower`` the sums (lower reported as negative); limits are :math:`\pm h`.

    Notes
    -----
    :math:`y_i = (\bar x_i - \mu_0)\sqrt{n_i}/\sigma`,
    :math:`C^+_i = \max(0, y_i - k + C^+_{i-1})`, :math:`C^-_i = \max(0, -y_i - k + C^-_{i-1})`.
    The recursion is solved in closed form, :math:`C^+_i = S_i - \min(-C_0, \min_{j\le i} S_j)`
    with :math:`S_i = \sum_{j\le i}(y_j - k)`, so it runs without a Python loop. A point signals
    (rule 1) when :math:`C^+_i > h` or :math:`C^-_i > h`.

    References
    ----------
    Page, E. S. (1954). Continuous inspection schemes. *Biometrika* 41, 100-115.
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 9.1.
    NIST/SEMATECH e-Handbook of Statistical Methods, Sec. 6.3.2.3.

    Examples
    --------
    >>> res = cusum([10.5, 11.0, 12.0, 9.0], k=0.5, h=5, target=10.0, sigma=1.0)
    >>> [float(v) for v in res.primary.upper]
    [0.0, 0.5, 2.0, 0.5]
    """
    kk = float(k)
    if not np.isfinite(kk) or kk < 0:
        raise invalid("k", f"must be a non-negative number, got {k!r}")
    hh = positive("h", h)
    start = float(headstart)
    if not 0.0 <= start <= hh:
        raise invalid("headstart", f"must be between 0 and h ({hh:g}), got {headstart!r}")
    loc = _location(data, sizes, phase1, reference, target, sigma)
    means, n, ref, sd, mu0 = loc.means, loc.sizes, loc.reference, loc.sigma, loc.mu0
    y = (means - mu0) * np.sqrt(n) / sd
    upper = _lindley(y - kk, start)
    lower = -_lindley(-y - kk, start)
    m = y.shape[0]
    flags = np.where((upper > hh) | (lower < -hh), np.uint16(1), np.uint16(0)).astype(np.uint16)
    primary = ChartResult(
        chart="cusum",
        values=y,
        center_line=np.zeros(m),
        lcl=np.full(m, -hh),
        ucl=np.full(m, hh),
        sigma_point=np.ones(m),
        center=0.0,
        lower_limit=-hh,
        upper_limit=hh,
        sigma=sd,
        sizes=n,
        violations=RuleViolations(RuleSet("nelson", (1,)), flags),
        upper=upper,
        lower=lower,
        parameters={"k": kk, "h": hh, "target": mu0, "headstart": start},
    )
    return SpcResult("cusum", primary, None, ref, phase1, ())


def _lindley(steps: FloatArray, start: float) -> FloatArray:
    """C_i = max(0, C_{i-1} + steps_i), C_0 = start, in closed form."""
    s = np.cumsum(steps)
    floor = np.minimum(np.minimum.accumulate(s), -start)
    return np.asarray(s - floor, dtype=np.float64)
