"""Measurement-system analysis: crossed gage R&R by the ANOVA method (AIAG MSA, 4th ed.)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from phasegate.domain.errors import invalid
from phasegate.stats._checks import finite_array, positive

__all__ = ["AnovaRow", "GageRRResult", "gage_rr"]


@dataclass(frozen=True, slots=True)
class AnovaRow:
    """One line of an ANOVA table; ``f`` and ``p`` are NaN where no test applies."""

    source: str
    df: int
    ss: float
    ms: float
    f: float
    p: float


@dataclass(frozen=True, slots=True)
class GageRRResult:
    """Crossed gage R&R study.

    Attributes
    ----------
    parts, operators, replicates : int
        Design: every part measured ``replicates`` times by every operator.
    anova : tuple of AnovaRow
        Two-way table with the part x operator interaction (part, operator, interaction,
        repeatability, total); parts and operators are tested against the interaction.
    anova_reduced : tuple of AnovaRow or None
        The table without interaction, when the interaction was pooled into repeatability.
    interaction_pooled : bool
        True when the interaction p-value exceeded ``alpha_interaction``.
    repeatability, operator, interaction, reproducibility, gage_rr, part_to_part, total : float
        Variance components (negative estimates are set to 0).
    tolerance : float or None
        USL - LSL, for the %tolerance figures.
    study_multiplier : float
        Number of standard deviations in the study variation (6 in AIAG 4th ed., 5.15 before).
    ndc : int or None
        Number of distinct categories, :math:`\\lfloor 1.41\\,\\sigma_P/\\sigma_{GRR} \\rfloor`,
        at least 1; None when the gage shows no variation at all.
    """

    parts: int
    operators: int
    replicates: int
    anova: tuple[AnovaRow, ...]
    anova_reduced: tuple[AnovaRow, ...] | None
    interaction_pooled: bool
    interaction_p: float
    alpha_interaction: float
    repeatability: float
    operator: float
    interaction: float
    reproducibility: float
    gage_rr: float
    part_to_part: float
    total: float
    tolerance: float | None
    study_multiplier: float
    ndc: int | None

    def components(self) -> dict[str, float]:
        """Variance of each source, in the order of the AIAG report."""
        return {
            "repeatability": self.repeatability,
            "reproducibility": self.reproducibility,
            "operator": self.operator,
            "interaction": self.interaction,
            "gage_rr": self.gage_rr,
            "part_to_part": self.part_to_part,
            "total": self.total,
        }

    def std_dev(self, source: str) -> float:
        """Standard deviation of one source (``"gage_rr"``, ``"part_to_part"``...)."""
        return math.sqrt(self.components()[source])

    def pct_contribution(self, source: str) -> float:
        """Variance of ``source`` as a percentage of the total variance."""
        return 100.0 * self.components()[source] / self.total if self.total > 0 else math.nan

    def pct_study_var(self, source: str) -> float:
        """Standard deviation of ``source`` as a percentage of the total standard deviation."""
        return 100.0 * self.std_dev(source) / math.sqrt(self.total) if self.total > 0 else math.nan

    def pct_tolerance(self, source: str) -> float:
        """Study variation of ``source`` as a percentage of the tolerance (NaN without one)."""
        if self.tolerance is None:
            return math.nan
        return 100.0 * self.study_multiplier * self.std_dev(source) / self.tolerance

    def rows(self) -> list[dict[str, float | str]]:
        """The AIAG summary: per source, variance, sd, study var and the three percentages."""
        out: list[dict[str, float | str]] = []
        for source, variance in self.components().items():
            sd = math.sqrt(variance)
            out.append(
                {
                    "source": source,
                    "variance": variance,
                    "std_dev": sd,
                    "study_var": self.study_multiplier * sd,
                    "pct_contribution": self.pct_contribution(source),
                    "pct_study_var": self.pct_study_var(source),
                    "pct_tolerance": self.pct_tolerance(source),
                }
            )
        return out


def _codes(name: str, labels: ArrayLike, count: int) -> tuple[np.ndarray, int]:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != count:
        raise invalid(name, f"needs one label per measurement ({count}), got {arr.shape}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        i = int(np.flatnonzero(np.isnan(arr))[0])
        raise invalid(f"{name}[{i}]", "label is missing (NaN)")
    _, inverse = np.unique(arr.astype(str) if arr.dtype.kind == "O" else arr, return_inverse=True)
    k = int(inverse.max()) + 1 if inverse.size else 0
    return inverse.reshape(-1), k


def _f_row(source: str, df: int, ss: float, denom_ms: float, denom_df: int) -> AnovaRow:
    from scipy import stats

    ms = ss / df
    if denom_ms > 0:
        f = ms / denom_ms
        p = float(stats.f.sf(f, df, denom_df))
    else:
        f = math.inf if ms > 0 else math.nan
        p = 0.0 if ms > 0 else math.nan
    return AnovaRow(source, df, ss, ms, f, p)


def gage_rr(
    values: ArrayLike,
    parts: ArrayLike,
    operators: ArrayLike,
    *,
    tolerance: float | None = None,
    alpha_interaction: float = 0.25,
    study_multiplier: float = 6.0,
) -> GageRRResult:
    r"""Crossed gage R&R by the ANOVA method.

    Parameters
    ----------
    values : array_like
        Measurements.
    parts, operators : array_like
        Part and operator label of each measurement. The design must be balanced: every part
        measured the same number of times (at least 2) by every operator.
    tolerance : float, optional
        Specification width USL - LSL, for %tolerance.
    alpha_interaction : float, default 0.25
        The interaction is pooled into repeatability when its p-value exceeds this level
        (0.25, the usual pooling level for the AIAG ANOVA method; Minitab defaults to 0.05).
    study_multiplier : float, default 6
        Standard deviations in the study variation (AIAG 4th ed. uses 6; older editions 5.15).

    Returns
    -------
    GageRRResult

    Notes
    -----
    With p parts, o operators and r replicates, the sums of squares are
    :math:`SS_P = or\sum_i(\bar y_{i\cdot\cdot}-\bar y)^2`,
    :math:`SS_O = pr\sum_j(\bar y_{\cdot j\cdot}-\bar y)^2`,
    :math:`SS_{PO} = r\sum_{ij}(\bar y_{ij\cdot}-\bar y_{i\cdot\cdot}-\bar y_{\cdot j\cdot}
    +\bar y)^2`,
    :math:`SS_E = \sum(y_{ijk}-\bar y_{ij\cdot})^2`. Variance components:
    :math:`\sigma^2_{E} = MS_E`, :math:`\sigma^2_{PO} = (MS_{PO}-MS_E)/r`,
    :math:`\sigma^2_O = (MS_O-MS_{PO})/(pr)`, :math:`\sigma^2_P = (MS_P-MS_{PO})/(or)`. When the
    interaction is pooled, :math:`MS_E` is replaced by
    :math:`(SS_{PO}+SS_E)/(df_{PO}+df_E)` and :math:`MS_{PO}` by that pooled value.
    Reproducibility is :math:`\sigma^2_O+\sigma^2_{PO}`, GRR adds repeatability, the total adds
    :math:`\sigma^2_P`. :math:`ndc = \lfloor 1.41\,\sigma_P/\sigma_{GRR}\rfloor`.

    References
    ----------
    AIAG (2010). *Measurement Systems Analysis Reference Manual*, 4th ed., Ch. III, Sec. B
    (ANOVA method, Tables III-B 5 and III-B 6).
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 8.7.3.

    Examples
    --------
    >>> v = [1.0, 1.1, 2.0, 2.1, 1.05, 1.0, 2.05, 2.0]
    >>> res = gage_rr(v, [1, 1, 2, 2, 1, 1, 2, 2], ["a", "a", "a", "a", "b", "b", "b", "b"])
    >>> res.parts, res.operators, res.replicates
    (2, 2, 2)
    """
    y = finite_array("values", values)
    n = y.shape[0]
    pi, p = _codes("parts", parts, n)
    oj, o = _codes("operators", operators, n)
    if p < 2:
        raise invalid("parts", f"a gage study needs at least 2 parts, got {p}")
    if o < 1:
        raise invalid("operators", "no operators")
    if not 0.0 <= alpha_interaction <= 1.0:
        raise invalid("alpha_interaction", f"must be between 0 and 1, got {alpha_interaction!r}")
    tol = None if tolerance is None else positive("tolerance", tolerance)
    mult = positive("study_multiplier", study_multiplier)
    cell = pi * o + oj
    cell_n = np.bincount(cell, minlength=p * o)
    r = int(cell_n[0])
    if np.any(cell_n != r):
        i = int(np.flatnonzero(cell_n != r)[0])
        raise invalid(
            "design",
            f"unbalanced: part #{i // o + 1} x operator #{i % o + 1} has {int(cell_n[i])} "
            f"measurements, the first cell has {r}; every part needs the same number of "
            "measurements by every operator",
        )
    if r < 2:
        raise invalid("design", "every part needs at least 2 measurements by each operator")
    grand = float(y.mean())
    cell_mean = np.bincount(cell, weights=y, minlength=p * o).reshape(p, o) / r
    part_mean = cell_mean.mean(axis=1)
    op_mean = cell_mean.mean(axis=0)
    ss_p = o * r * float(np.sum((part_mean - grand) ** 2))
    ss_o = p * r * float(np.sum((op_mean - grand) ** 2))
    resid_cell = cell_mean - part_mean[:, None] - op_mean[None, :] + grand
    ss_po = r * float(np.sum(resid_cell**2))
    ss_e = float(np.sum((y - cell_mean.reshape(-1)[cell]) ** 2))
    ss_t = float(np.sum((y - grand) ** 2))
    df_p, df_o, df_po, df_e = p - 1, o - 1, (p - 1) * (o - 1), p * o * (r - 1)
    ms_e = ss_e / df_e

    has_interaction = o > 1
    anova: tuple[AnovaRow, ...]
    if has_interaction:
        row_po = _f_row("part*operator", df_po, ss_po, ms_e, df_e)
        ms_po = row_po.ms
        anova = (
            _f_row("part", df_p, ss_p, ms_po, df_po),
            _f_row("operator", df_o, ss_o, ms_po, df_po),
            row_po,
            AnovaRow("repeatability", df_e, ss_e, ms_e, math.nan, math.nan),
            AnovaRow("total", n - 1, ss_t, math.nan, math.nan, math.nan),
        )
        interaction_p = row_po.p
        pooled = bool(interaction_p > alpha_interaction) if math.isfinite(interaction_p) else True
    else:
        ms_po = ms_e
        anova = (
            _f_row("part", df_p, ss_p, ms_e, df_e),
            AnovaRow("repeatability", df_e, ss_e, ms_e, math.nan, math.nan),
            AnovaRow("total", n - 1, ss_t, math.nan, math.nan, math.nan),
        )
        interaction_p = math.nan
        pooled = False

    reduced: tuple[AnovaRow, ...] | None = None
    if pooled:
        df_pool = df_po + df_e
        ms_pool = (ss_po + ss_e) / df_pool
        reduced = (
            _f_row("part", df_p, ss_p, ms_pool, df_pool),
            _f_row("operator", df_o, ss_o, ms_pool, df_pool),
            AnovaRow("repeatability", df_pool, ss_po + ss_e, ms_pool, math.nan, math.nan),
            AnovaRow("total", n - 1, ss_t, math.nan, math.nan, math.nan),
        )
        var_e, var_po = ms_pool, 0.0
        var_o = max(0.0, (ss_o / df_o - ms_pool) / (p * r))
        var_p = max(0.0, (ss_p / df_p - ms_pool) / (o * r))
    else:
        var_e = ms_e
        var_po = max(0.0, (ms_po - ms_e) / r) if has_interaction else 0.0
        var_o = max(0.0, (ss_o / df_o - ms_po) / (p * r)) if has_interaction else 0.0
        var_p = max(0.0, (ss_p / df_p - ms_po) / (o * r))
    reproducibility = var_o + var_po
    grr = var_e + reproducibility
    total = grr + var_p
    ndc = max(1, math.floor(1.41 * math.sqrt(var_p / grr))) if grr > 0 else None
    return GageRRResult(
        parts=p,
        operators=o,
        replicates=r,
        anova=anova,
        anova_reduced=reduced,
        interaction_pooled=pooled,
        interaction_p=interaction_p,
        alpha_interaction=float(alpha_interaction),
        repeatability=var_e,
        operator=var_o,
        interaction=var_po,
        reproducibility=reproducibility,
        gage_rr=grr,
        part_to_part=var_p,
        total=total,
        tolerance=tol,
        study_multiplier=mult,
        ndc=ndc,
    )
