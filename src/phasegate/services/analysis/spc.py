"""A control chart of one column of a CSV file, with phase I limits from a count or a date range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from phasegate.domain.errors import InvalidInput, invalid
from phasegate.ingest.columns import ColumnData
from phasegate.services.analysis.charts import CHART_KINDS, ChartKind, Rows, SizeColumn, chart_kind
from phasegate.services.analysis.series import Series, columns_of, finite_or_none, read_series
from phasegate.stats.charts import ChartResult, SpcResult

__all__ = ["SpcReport", "analyse_spc"]


@dataclass(frozen=True, slots=True, eq=False)
class SpcReport:
    """A control chart computed from a CSV file, with the subgroup labels and what was dropped."""

    source: str
    value_column: str
    result: SpcResult
    labels: tuple[str | int, ...]
    notes: tuple[str, ...]
    missing_rows: int

    def _points(self, chart: ChartResult, with_phase: bool) -> list[dict[str, Any]]:
        # One dict per point, built from whole columns: this is most of the time of a large
        # chart's JSON, so each column is converted once and the non-finite values patched.
        off = chart.first_point
        labels = self.labels[off : off + chart.count]
        values, lcl, ucl = _nullable(chart.values), _nullable(chart.lcl), _nullable(chart.ucl)
        center = _nullable(chart.center_line)
        sizes = chart.sizes.tolist()
        violations = chart.violations
        flags = violations.flags.tolist()
        rules = [[] if f == 0 else violations.at(i) for i, f in enumerate(flags)]
        points = [
            {"subgroup": label, "value": v, "lcl": lo, "ucl": hi, "violations": broken,
             "center": c, "size": n}
            for label, v, lo, hi, broken, c, n
            in zip(labels, values, lcl, ucl, rules, center, sizes, strict=True)
        ]  # fmt: skip
        if with_phase:
            for point, ref in zip(points, self.result.reference[off:].tolist(), strict=False):
                point["phase"] = 1 if ref else 2
        if chart.upper is not None and chart.lower is not None:
            for point, up, low in zip(
                points, chart.upper.tolist(), chart.lower.tolist(), strict=True
            ):
                point["upper"] = up
                point["lower"] = low
        return points

    def _chart_dict(self, chart: ChartResult, with_phase: bool) -> dict[str, Any]:
        return {
            "chart": chart.chart,
            "center": finite_or_none(chart.center),
            "lcl": finite_or_none(chart.lower_limit),
            "ucl": finite_or_none(chart.upper_limit),
            "sigma": finite_or_none(chart.sigma),
            "limits_vary": chart.limits_vary(),
            "rules": chart.violations.rule_set.system,
            "rules_checked": list(chart.violations.rule_set.rules),
            "signals": chart.violations.count(),
            "parameters": chart.parameters,
            "points": self._points(chart, with_phase),
        }

    def as_dict(self) -> dict[str, Any]:
        """The ``phasegate spc --format json`` document."""
        res = self.result
        out = self._chart_dict(res.primary, True)
        out["chart"] = res.chart
        out["secondary"] = None if res.secondary is None else self._chart_dict(res.secondary, True)
        out["phase1"] = res.phase1
        out["reference_subgroups"] = int(res.reference.sum())
        out["excluded"] = [self.labels[i] for i in res.excluded]
        out["source"] = self.source
        out["value_column"] = self.value_column
        out["missing_rows"] = self.missing_rows
        out["notes"] = list(self.notes)
        return out


def _nullable(values: NDArray[np.float64]) -> list[float | None]:
    """``values`` as a list of floats, None (JSON ``null``) where a value is NaN or infinite."""
    out: list[float | None] = values.tolist()
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        out[i] = None
    return out


def analyse_spc(
    path: str | Path | ColumnData,
    *,
    value: str,
    chart: str,
    subgroup: str | None = None,
    subgroup_size: int | None = None,
    size: str | None = None,
    phase1: int | None = None,
    time: str | None = None,
    phase1_start: str | None = None,
    phase1_end: str | None = None,
    exclude_out_of_control: bool = False,
    rules: str | Sequence[int] | None = "nelson",
    lam: float = 0.2,
    nsigmas: float = 3.0,
    k: float = 0.5,
    h: float = 5.0,
    target: float | None = None,
    sigma: float | None = None,
) -> SpcReport:
    """Control chart of column ``value`` of a CSV file; see ``phasegate spc --help``.

    ``chart`` names one of :data:`~phasegate.services.analysis.charts.CHART_KINDS`. Rows form
    subgroups by their label in column ``subgroup`` or by ``subgroup_size`` consecutive rows;
    ``size`` is the sample-size column of an attributes chart. The limits come from the first
    ``phase1`` subgroups, or from the subgroups whose first row's ``time`` lies between
    ``phase1_start`` and ``phase1_end``, else from all of them.
    """
    kind = chart_kind(chart)
    _check_options(kind, subgroup, subgroup_size, size)
    if (phase1_start or phase1_end) and time is None:
        raise invalid("time", "`phase1_start`/`phase1_end` need the time column (`time`)")
    if phase1 is not None and (phase1_start or phase1_end):
        raise invalid("phase1", "give either `phase1` or a `phase1_start`/`phase1_end` range")
    text = [c for c in (subgroup, time) if c is not None]
    numeric = [value] + ([size] if size is not None else [])
    cols = columns_of(path, numeric, text)
    series = read_series(cols, value, subgroup, subgroup_size, size)
    if series.values.shape[0] == 0:
        raise invalid(f"{cols.path}: column {value!r}", "no values (every cell is empty)")
    if kind.attributes:
        _check_counts(cols.path, series, value, size, bounded=kind.counts_within_size)
    reference = None
    if time is not None and (phase1_start or phase1_end):
        reference = _reference_from_times(cols, time, series.first_line, phase1_start, phase1_end)
    grouped = subgroup is not None or subgroup_size is not None
    per_point = kind.one_row_per_point(grouped)
    if per_point and series.labels_repeat():
        raise _not_one_row_per_point(kind, subgroup, subgroup_size)
    given = {
        "rules": rules, "exclude_out_of_control": exclude_out_of_control, "lam": lam,
        "nsigmas": nsigmas, "k": k, "h": h, "target": target, "sigma": sigma,
    }  # fmt: skip
    result = _compute(kind, series, per_point, phase1, reference, given)
    return SpcReport(
        source=cols.path,
        value_column=value,
        result=result,
        labels=tuple(series.labels),
        notes=tuple(series.notes),
        missing_rows=series.missing_rows,
    )


def _compute(
    kind: ChartKind,
    series: Series,
    per_point: bool,
    phase1: int | None,
    reference: NDArray[np.bool_] | None,
    given: dict[str, Any],
) -> SpcResult:
    """Call the chart kind's stats function with its data and the parameters it takes."""
    data: list[NDArray[Any] | None] = [series.values]
    if kind.attributes:
        data.append(series.sizes)
    elif kind.rows is not Rows.INDIVIDUALS:
        data.append(None if per_point else series.subgroup_sizes())
    options = {keyword: given[parameter] for keyword, parameter in kind.parameters.items()}
    return kind.compute(*data, phase1=phase1, reference=reference, **options)


def _check_options(
    kind: ChartKind, subgroup: str | None, subgroup_size: int | None, size: str | None
) -> None:
    """What the chart kind needs and refuses: subgroups, one row per sample, a size column."""
    if subgroup is not None and subgroup_size is not None:
        raise invalid("subgroup", "give either `subgroup` or `subgroup_size`, not both")
    if kind.rows is Rows.SUBGROUPS and subgroup is None and subgroup_size is None:
        raise invalid("chart", f"{kind.name} needs `subgroup` or `subgroup_size`")
    if kind.size is SizeColumn.REQUIRED and size is None:
        raise invalid("size", f"a {kind.name} chart needs the sample size column (`size`)")
    if kind.rows is Rows.SAMPLES and subgroup_size is not None:
        raise invalid("subgroup_size", f"a {kind.name} chart takes one row per sample")
    if kind.size is SizeColumn.NONE and size is not None:
        sized = ", ".join(k.name for k in CHART_KINDS if k.size is not SizeColumn.NONE)
        raise invalid(
            "size", f"a sample size column is for attributes charts ({sized}), not {kind.name}"
        )


def _not_one_row_per_point(
    kind: ChartKind, subgroup: str | None, subgroup_size: int | None
) -> InvalidInput:
    variables = "/".join(k.name for k in CHART_KINDS if k.rows is Rows.SUBGROUPS)
    if subgroup is not None:
        loc, why = "subgroup", f"but labels in column {subgroup!r} repeat"
    else:
        loc, why = "subgroup_size", f"not subgroups of {subgroup_size} rows"
    return invalid(
        loc, f"a {kind.name} chart takes one row per point, {why}; use {variables} for subgroups"
    )


def _parse_time(text: str, where: str) -> dt.datetime:
    try:
        stamp = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise invalid(where, f"{text!r} is not an ISO 8601 date or time") from None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=dt.UTC)


def _reference_from_times(
    cols: ColumnData,
    time: str,
    first_line: NDArray[np.int64],
    start: str | None,
    end: str | None,
) -> NDArray[np.bool_]:
    """Subgroups whose first row's time lies in [start, end] (either end may be open)."""
    lo = _parse_time(start, "phase1_start") if start else None
    hi = _parse_time(end, "phase1_end") if end else None
    row_of_line = {int(line): i for i, line in enumerate(cols.lines.tolist())}
    mask = np.zeros(first_line.shape[0], dtype=np.bool_)
    for j, line in enumerate(first_line.tolist()):
        cell = str(cols.text[time][row_of_line[line]])
        if not cell:
            raise invalid(f"{cols.path}, line {line}, column {time!r}", "no time for this row")
        stamp = _parse_time(cell, f"{cols.path}, line {line}, column {time!r}")
        mask[j] = (lo is None or stamp >= lo) and (hi is None or stamp <= hi)
    return mask


def _check_counts(path: str, series: Series, value: str, size: str | None, bounded: bool) -> None:
    """Attributes data errors named by file line (the engine would name the array index)."""
    counts = series.values
    bad = np.flatnonzero((counts < 0) | (counts != np.round(counts)))
    if bad.size:
        i = int(bad[0])
        raise invalid(
            f"{path}, line {int(series.lines[i])}, column {value!r}",
            f"a count must be a non-negative whole number, got {counts[i]:g}",
        )
    if series.sizes is None or size is None:
        return
    sizes = series.sizes
    bad = np.flatnonzero((sizes <= 0) | (sizes != np.round(sizes)))
    if bad.size:
        i = int(bad[0])
        raise invalid(
            f"{path}, line {int(series.lines[i])}, column {size!r}",
            f"a sample size must be a positive whole number, got {sizes[i]:g}",
        )
    if bounded:
        over = np.flatnonzero(counts > sizes)
        if over.size:
            i = int(over[0])
            raise invalid(
                f"{path}, line {int(series.lines[i])}",
                f"{counts[i]:g} nonconforming ({value!r}) is more than the sample size "
                f"{sizes[i]:g} ({size!r})",
            )
