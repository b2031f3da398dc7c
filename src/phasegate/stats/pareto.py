"""Pareto analysis: categories sorted by count with shares and cumulative shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from phasegate.domain.errors import invalid
from phasegate.stats._checks import FloatArray

__all__ = ["ParetoResult", "pareto"]


@dataclass(frozen=True, slots=True, eq=False)
class ParetoResult:
    """Categories from most to least frequent.

    Attributes
    ----------
    categories : tuple of str
    counts : ndarray
    shares : ndarray
        Count / total.
    cumulative_shares : ndarray
        Running sum of the shares; the last is 1.
    """

    categories: tuple[str, ...]
    counts: FloatArray
    shares: FloatArray
    cumulative_shares: FloatArray

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def vital_few(self, threshold: float = 0.8) -> tuple[str, ...]:
        """Categories up to the one where the cumulative share reaches ``threshold``."""
        k = int(np.searchsorted(self.cumulative_shares, threshold - 1e-12)) + 1
        return self.categories[:k]

    def rows(self) -> list[dict[str, object]]:
        return [
            {"category": c, "count": float(n), "share": float(s), "cumulative_share": float(cs)}
            for c, n, s, cs in zip(
                self.categories, self.counts, self.shares, self.cumulative_shares, strict=True
            )
        ]


def pareto(
    labels: Sequence[str] | Mapping[str, float] | ArrayLike, counts: ArrayLike | None = None
) -> ParetoResult:
    r"""Pareto table of defect categories.

    Parameters
    ----------
    labels : sequence of str or mapping
        Either one label per defect (counted here), the category names matching ``counts``, or
        a mapping from category to count.
    counts : array_like, optional
        Count per category, when ``labels`` are the distinct categories.

    Returns
    -------
    ParetoResult
        Sorted by count, descending; ties keep first-seen order.

    Notes
    -----
    :math:`\text{share}_i = c_i/\sum c`, cumulative share :math:`\sum_{j\le i}\text{share}_j`.

    References
    ----------
    Juran, J. M. and Godfrey, A. B. (1999). *Juran's Quality Handbook*, 5th ed., Sec. 5.
    Montgomery, D. C. *Introduction to Statistical Quality Control*, 6th ed., Sec. 5.4.

    Examples
    --------
    >>> r = pareto(["solder", "scratch", "solder", "missing", "solder", "scratch"])
    >>> r.categories, [round(float(v), 3) for v in r.cumulative_shares]
    (('solder', 'scratch', 'missing'), [0.5, 0.833, 1.0])
    """
    if isinstance(labels, Mapping):
        if counts is not None:
            raise invalid("counts", "give counts either in the mapping or separately, not both")
        names = [str(k) for k in labels]
        values = np.asarray(list(labels.values()), dtype=np.float64)
    elif counts is None:
        raw = np.asarray(labels, dtype=object).astype(str)
        if raw.size == 0:
            raise invalid("labels", "no defects to analyse (empty)")
        uniq, first, cnt = np.unique(raw, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")
        names = [str(u) for u in uniq[order]]
        values = cnt[order].astype(np.float64)
    else:
        names = [str(v) for v in np.asarray(labels, dtype=object)]
        values = np.asarray(counts, dtype=np.float64)
        if values.shape != (len(names),):
            raise invalid("counts", f"{values.shape[0]} counts for {len(names)} categories")
    if not names:
        raise invalid("labels", "no categories (empty)")
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if bad.size:
        i = int(bad[0])
        raise invalid(f"counts[{names[i]}]", f"must be a non-negative number, got {values[i]!r}")
    total = values.sum()
    if total <= 0:
        raise invalid("counts", "all counts are zero")
    order = np.argsort(-values, kind="stable")
    sorted_counts = values[order]
    shares = sorted_counts / total
    return ParetoResult(tuple(names[i] for i in order), sorted_counts, shares, np.cumsum(shares))
