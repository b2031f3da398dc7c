"""Process capability of one column of a CSV file, individual values or in subgroups."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args

import numpy as np
from numpy.typing import NDArray

from phasegate import stats
from phasegate.domain.errors import invalid
from phasegate.ingest.columns import ColumnData
from phasegate.services.analysis.series import columns_of, finite_or_none, read_series
from phasegate.stats.capability import INDICES, CapabilityResult, Method, SigmaMethod

__all__ = ["CapabilityReport", "analyse_capability", "histogram_bins"]


@dataclass(frozen=True, slots=True, eq=False)
class CapabilityReport:
    """Capability of one column of a CSV file."""

    source: str
    value_column: str
    result: CapabilityResult
    notes: tuple[str, ...]
    missing_rows: int
    histogram_edges: tuple[float, ...] = ()
    histogram_counts: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The ``phasegate capability --format json`` document."""
        r = self.result
        out: dict[str, Any] = {
            "n": r.n,
            "mean": finite_or_none(r.mean),
            "sigma_within": finite_or_none(r.sigma_within),
            "sigma_overall": finite_or_none(r.sigma_overall),
        }
        out.update({name: finite_or_none(getattr(r, name)) for name in INDICES})
        out["ci"] = {
            name: [finite_or_none(r.ci[name].low), finite_or_none(r.ci[name].high)]
            for name in INDICES
        }
        out["ppm"] = {
            "expected_below": finite_or_none(r.ppm.expected_below),
            "expected_above": finite_or_none(r.ppm.expected_above),
            "observed_below": finite_or_none(r.ppm.observed_below),
            "observed_above": finite_or_none(r.ppm.observed_above),
            "expected_within_below": finite_or_none(r.ppm.expected_within_below),
            "expected_within_above": finite_or_none(r.ppm.expected_within_above),
        }
        out["lower_bounds"] = {name: finite_or_none(r.lower_bounds[name]) for name in INDICES}
        out.update(
            {
                "confidence": r.confidence,
                "lsl": r.lsl,
                "usl": r.usl,
                "target": r.target,
                "subgroups": r.subgroups,
                "sigma_method": r.sigma_method,
                "dof_within": finite_or_none(r.dof_within),
                "dof_overall": finite_or_none(r.dof_overall),
                "method": r.method,
                "box_cox_lambda": r.box_cox_lambda,
                "normality": self._normality(),
                "warnings": list(r.warnings),
                "source": self.source,
                "value_column": self.value_column,
                "missing_rows": self.missing_rows,
                "notes": list(self.notes),
                "histogram": {
                    "edges": list(self.histogram_edges),
                    "counts": list(self.histogram_counts),
                },
            }
        )
        return out

    def _normality(self) -> dict[str, Any] | None:
        test = self.result.normality
        if test is None:
            return None
        return {
            "test": "anderson-darling",
            "statistic": test.statistic,
            "adjusted": test.adjusted,
            "p_value": test.p_value,
            "normal": test.normal,
        }


def analyse_capability(
    path: str | Path | ColumnData,
    *,
    value: str,
    lsl: float | None,
    usl: float | None,
    subgroup: str | None = None,
    subgroup_size: int | None = None,
    target: float | None = None,
    confidence: float = 0.95,
    sigma_within: str | None = None,
    method: str = "normal",
) -> CapabilityReport:
    """Capability of column ``value``; see ``phasegate capability --help``.

    ``path`` is a CSV file, or columns already read (stored measurements, for instance).
    """
    if subgroup is not None and subgroup_size is not None:
        raise invalid("subgroup", "give either `subgroup` or `subgroup_size`, not both")
    if lsl is None and usl is None:
        raise invalid("lsl/usl", "give at least one specification limit")
    if lsl is not None and usl is not None and not lsl < usl:
        raise invalid("usl", f"usl ({usl:g}) must be greater than lsl ({lsl:g})")
    allowed = get_args(SigmaMethod)
    if sigma_within is not None and sigma_within not in allowed:
        raise invalid("sigma_within", f"one of {', '.join(sorted(allowed))}")
    cols = columns_of(path, [value], [subgroup] if subgroup else [])
    series = read_series(cols, value, subgroup, subgroup_size, None)
    if series.values.shape[0] == 0:
        raise invalid(f"{cols.path}: column {value!r}", "no values (every cell is empty)")
    grouped = subgroup is not None or subgroup_size is not None
    result = stats.capability(
        series.values,
        sizes=series.subgroup_sizes() if grouped else None,
        lsl=lsl,
        usl=usl,
        target=target,
        confidence=confidence,
        sigma_within=cast(SigmaMethod | None, sigma_within),  # checked above
        method=cast(Method, method),  # checked by the engine
    )
    edges, counts = histogram_bins(series.values)
    return CapabilityReport(
        cols.path, value, result, tuple(series.notes), series.missing_rows, edges, counts
    )


def histogram_bins(values: NDArray[np.float64]) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """The capability histogram of ``values``: (bin edges, counts), sqrt(n) bins, 5 to 60."""
    bins = int(min(60, max(5, math.ceil(math.sqrt(values.shape[0])))))
    counts, edges = np.histogram(values, bins=bins)
    return tuple(float(e) for e in edges), tuple(int(c) for c in counts)
