"""Use case "analyse a CSV file": SPC, capability and gage R&R on named columns, no database.

Reads the columns through :mod:`phasegate.ingest.columns`, forms subgroups, calls
:mod:`phasegate.stats` and returns report objects whose ``as_dict()`` is the JSON contract of
``phasegate spc`` / ``capability`` / ``gage``. Rows with a missing value are dropped and
reported (count and line numbers) in ``notes``; nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from phasegate import stats
from phasegate.domain.errors import invalid
from phasegate.ingest.columns import ColumnData, read_columns
from phasegate.stats.capability import CapabilityResult
from phasegate.stats.charts import ChartResult, SpcResult
from phasegate.stats.msa import GageRRResult

__all__ = [
    "CHARTS",
    "CapabilityReport",
    "GageReport",
    "SpcReport",
    "analyse_capability",
    "analyse_gage",
    "analyse_spc",
]

ChartKind = Literal["xbar-r", "xbar-s", "imr", "p", "np", "c", "u", "ewma", "cusum"]
CHARTS: tuple[str, ...] = ("xbar-r", "xbar-s", "imr", "p", "np", "c", "u", "ewma", "cusum")
_SUBGROUPED = {"xbar-r", "xbar-s"}
_ATTRIBUTES = {"p", "np", "c", "u"}
_SHOWN_LINES = 10


def _float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _missing_note(column: str, lines: NDArray[np.int64], what: str = "skipped") -> str:
    shown = ", ".join(str(int(v)) for v in lines[:_SHOWN_LINES])
    more = f", ... ({lines.shape[0] - _SHOWN_LINES} more)" if lines.shape[0] > _SHOWN_LINES else ""
    rows = "row" if lines.shape[0] == 1 else "rows"
    word = "line" if lines.shape[0] == 1 else "lines"
    return f"{lines.shape[0]} {rows} with no {column!r} value {what} ({word} {shown}{more})"


@dataclass(frozen=True, slots=True, eq=False)
class _Series:
    """Rows that survived missing-value removal, in file order, with their subgroup."""

    values: NDArray[np.float64]
    sizes: NDArray[np.float64] | None
    group: NDArray[np.int64]  # subgroup index of each row
    labels: list[str | int]  # one per subgroup
    first_line: NDArray[np.int64]  # file line of each subgroup's first row
    lines: NDArray[np.int64]  # file line of each row, in the order of ``values``
    notes: list[str]
    missing_rows: int


def _series(
    cols: ColumnData,
    value: str,
    subgroup: str | None,
    subgroup_size: int | None,
    size: str | None,
) -> _Series:
    keep = ~np.isnan(cols.numeric[value])
    notes: list[str] = []
    missing_rows = 0
    if not keep.all():
        notes.append(_missing_note(value, cols.lines[~keep]))
    sizes = None
    if size is not None:
        size_ok = ~np.isnan(cols.numeric[size])
        if not size_ok.all():
            notes.append(_missing_note(size, cols.lines[~size_ok & keep]))
        keep &= size_ok
        sizes = cols.numeric[size]
    if subgroup is not None:
        label_ok = cols.text[subgroup] != ""
        if not (label_ok | ~keep).all():
            notes.append(_missing_note(subgroup, cols.lines[~label_ok & keep]))
        keep &= label_ok
    missing_rows = int((~keep).sum())
    n_rows = cols.rows
    if subgroup is not None:
        names, first, inverse = np.unique(
            cols.text[subgroup][keep], return_index=True, return_inverse=True
        )
        order = np.argsort(first, kind="stable")  # subgroups in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0])
        group = rank[inverse.reshape(-1)]
        labels: list[str | int] = [str(v) for v in names[order]]
        first_line = cols.lines[keep][first[order]]
    elif subgroup_size is not None:
        if subgroup_size < 1:
            raise invalid("--subgroup-size", f"must be at least 1, got {subgroup_size}")
        position = np.arange(n_rows, dtype=np.int64) // subgroup_size
        raw_group = position[keep]
        present, group = np.unique(raw_group, return_inverse=True)
        group = group.reshape(-1)
        labels = [int(g) + 1 for g in present]
        first_line = cols.lines[keep][np.searchsorted(raw_group, present)]
        if n_rows % subgroup_size:
            notes.append(
                f"the last subgroup has {n_rows % subgroup_size} of {subgroup_size} rows; "
                "it is used with its actual size"
            )
        empty = int(position[-1] + 1 - present.shape[0])
        if empty:
            notes.append(f"{empty} subgroups had no values at all and were left out")
    else:
        group = np.arange(int(keep.sum()), dtype=np.int64)
        labels = list(range(1, group.shape[0] + 1))
        first_line = cols.lines[keep]
    order_rows = np.argsort(group, kind="stable")
    values = cols.numeric[value][keep][order_rows]
    return _Series(
        values=values,
        sizes=None if sizes is None else sizes[keep][order_rows],
        group=group[order_rows],
        labels=labels,
        first_line=first_line,
        lines=cols.lines[keep][order_rows],
        notes=notes,
        missing_rows=missing_rows,
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
    lo = _parse_time(start, "--phase1-start") if start else None
    hi = _parse_time(end, "--phase1-end") if end else None
    row_of_line = {int(line): i for i, line in enumerate(cols.lines.tolist())}
    mask = np.zeros(first_line.shape[0], dtype=np.bool_)
    for j, line in enumerate(first_line.tolist()):
        cell = str(cols.text[time][row_of_line[line]])
        if not cell:
            raise invalid(f"{cols.path}, line {line}, column {time!r}", "no time for this row")
        stamp = _parse_time(cell, f"{cols.path}, line {line}, column {time!r}")
        mask[j] = (lo is None or stamp >= lo) and (hi is None or stamp <= hi)
    return mask


def _check_counts(path: str, series: _Series, value: str, size: str | None, bounded: bool) -> None:
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
        off = chart.first_point
        labels = self.labels[off : off + chart.count]
        values = chart.values.tolist()
        lcl, ucl, center = chart.lcl.tolist(), chart.ucl.tolist(), chart.center_line.tolist()
        sizes = chart.sizes.tolist()
        violations = chart.violations.as_lists()
        reference = self.result.reference[off:].tolist()
        points: list[dict[str, Any]] = []
        for i, label in enumerate(labels):
            point: dict[str, Any] = {
                "subgroup": label,
                "value": _float(values[i]),
                "lcl": _float(lcl[i]),
                "ucl": _float(ucl[i]),
                "violations": violations[i],
                "center": _float(center[i]),
                "size": sizes[i],
            }
            if with_phase:
                point["phase"] = 1 if reference[i] else 2
            points.append(point)
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
            "center": _float(chart.center),
            "lcl": _float(chart.lower_limit),
            "ucl": _float(chart.upper_limit),
            "sigma": _float(chart.sigma),
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


def analyse_spc(
    path: str | Path,
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
    """Control chart of column ``value`` of a CSV file; see ``phasegate spc --help``."""
    if chart not in CHARTS:
        raise invalid("--chart", f"unknown chart {chart!r}; one of {', '.join(CHARTS)}")
    if subgroup is not None and subgroup_size is not None:
        raise invalid("--subgroup", "give either --subgroup COL or --subgroup-size N, not both")
    if chart in _SUBGROUPED and subgroup is None and subgroup_size is None:
        raise invalid("--chart", f"{chart} needs --subgroup COL or --subgroup-size N")
    if chart in {"p", "np", "u"} and size is None:
        raise invalid("--size", f"a {chart} chart needs the sample size column (--size COL)")
    if chart in _ATTRIBUTES and subgroup_size is not None:
        raise invalid("--subgroup-size", f"a {chart} chart takes one row per sample")
    if chart not in _ATTRIBUTES and size is not None:
        raise invalid("--size", f"--size is for attributes charts (p, np, c, u), not {chart}")
    if (phase1_start or phase1_end) and time is None:
        raise invalid("--time", "--phase1-start/--phase1-end need the time column (--time COL)")
    if phase1 is not None and (phase1_start or phase1_end):
        raise invalid("--phase1", "give either --phase1 K or a --phase1-start/--phase1-end range")
    text = [c for c in (subgroup, time) if c is not None]
    numeric = [value] + ([size] if size is not None else [])
    cols = read_columns(path, numeric=numeric, text=text)
    series = _series(cols, value, subgroup, subgroup_size, size)
    if series.values.shape[0] == 0:
        raise invalid(f"{cols.path}: column {value!r}", "no values (every cell is empty)")
    if chart in _ATTRIBUTES:
        _check_counts(cols.path, series, value, size, bounded=chart in {"p", "np"})
    reference = None
    if time is not None and (phase1_start or phase1_end):
        reference = _reference_from_times(cols, time, series.first_line, phase1_start, phase1_end)
    common: dict[str, Any] = {"phase1": phase1, "reference": reference}
    per_point = (
        chart in _ATTRIBUTES
        or chart == "imr"
        or (chart in {"ewma", "cusum"} and subgroup is None and subgroup_size is None)
    )
    if per_point and series.group.shape[0] != len(set(series.group.tolist())):
        raise invalid(
            f"--subgroup {subgroup}",
            f"a {chart} chart takes one row per point, but labels repeat; "
            "use xbar-r/xbar-s for subgroups",
        )
    sizes = np.bincount(series.group).astype(np.int64) if not per_point else None
    result: SpcResult
    if chart == "xbar-r" or chart == "xbar-s":
        fn = stats.xbar_r if chart == "xbar-r" else stats.xbar_s
        result = fn(
            series.values, sizes, rules=rules, exclude_out_of_control=exclude_out_of_control,
            center=target, sigma=sigma, **common,
        )  # fmt: skip
    elif chart == "imr":
        result = stats.imr(
            series.values, rules=rules, exclude_out_of_control=exclude_out_of_control,
            center=target, sigma=sigma, **common,
        )  # fmt: skip
    elif chart in _ATTRIBUTES:
        fns = {"p": stats.p_chart, "np": stats.np_chart, "u": stats.u_chart}
        if chart == "c":
            result = stats.c_chart(
                series.values, series.sizes, rules=rules,
                exclude_out_of_control=exclude_out_of_control, **common,
            )  # fmt: skip
        else:
            assert series.sizes is not None  # checked above: p, np and u need --size
            result = fns[chart](
                series.values, series.sizes, rules=rules,
                exclude_out_of_control=exclude_out_of_control, **common,
            )  # fmt: skip
    elif chart == "ewma":
        result = stats.ewma(
            series.values, sizes, lam=lam, nsigmas=nsigmas, target=target, sigma=sigma, **common
        )
    else:
        result = stats.cusum(series.values, sizes, k=k, h=h, target=target, sigma=sigma, **common)
    return SpcReport(
        source=cols.path,
        value_column=value,
        result=result,
        labels=tuple(series.labels),
        notes=tuple(series.notes),
        missing_rows=series.missing_rows,
    )


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
        indices = ("cp", "cpl", "cpu", "cpk", "cpm", "pp", "ppl", "ppu", "ppk")
        normality = None
        if r.normality is not None:
            normality = {
                "test": "anderson-darling",
                "statistic": r.normality.statistic,
                "adjusted": r.normality.adjusted,
                "p_value": r.normality.p_value,
                "normal": r.normality.normal,
            }
        out: dict[str, Any] = {
            "n": r.n,
            "mean": _float(r.mean),
            "sigma_within": _float(r.sigma_within),
            "sigma_overall": _float(r.sigma_overall),
        }
        out.update({name: _float(getattr(r, name)) for name in indices})
        out["ci"] = {name: [_float(r.ci[name].low), _float(r.ci[name].high)] for name in indices}
        out["ppm"] = {
            "expected_below": _float(r.ppm.expected_below),
            "expected_above": _float(r.ppm.expected_above),
            "observed_below": _float(r.ppm.observed_below),
            "observed_above": _float(r.ppm.observed_above),
            "expected_within_below": _float(r.ppm.expected_within_below),
            "expected_within_above": _float(r.ppm.expected_within_above),
        }
        out["lower_bounds"] = {name: _float(r.lower_bounds[name]) for name in indices}
        out.update(
            {
                "confidence": r.confidence,
                "lsl": r.lsl,
                "usl": r.usl,
                "target": r.target,
                "subgroups": r.subgroups,
                "sigma_method": r.sigma_method,
                "dof_within": _float(r.dof_within),
                "dof_overall": _float(r.dof_overall),
                "method": r.method,
                "box_cox_lambda": r.box_cox_lambda,
                "normality": normality,
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


def analyse_capability(
    path: str | Path,
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
    """Capability of column ``value``; see ``phasegate capability --help``."""
    if subgroup is not None and subgroup_size is not None:
        raise invalid("--subgroup", "give either --subgroup COL or --subgroup-size N, not both")
    if lsl is None and usl is None:
        raise invalid("--lsl/--usl", "give at least one specification limit")
    if lsl is not None and usl is not None and not lsl < usl:
        raise invalid("--usl", f"usl ({usl:g}) must be greater than lsl ({lsl:g})")
    allowed = {"rbar", "sbar", "pooled", "mr"}
    if sigma_within is not None and sigma_within not in allowed:
        raise invalid("--sigma-within", f"one of {', '.join(sorted(allowed))}")
    cols = read_columns(path, numeric=[value], text=[subgroup] if subgroup else [])
    series = _series(cols, value, subgroup, subgroup_size, None)
    if series.values.shape[0] == 0:
        raise invalid(f"{cols.path}: column {value!r}", "no values (every cell is empty)")
    grouped = subgroup is not None or subgroup_size is not None
    sizes = np.bincount(series.group) if grouped else None
    result = stats.capability(
        series.values,
        sizes=sizes,
        lsl=lsl,
        usl=usl,
        target=target,
        confidence=confidence,
        sigma_within=sigma_within,  # type: ignore[arg-type]
        method=method,  # type: ignore[arg-type]
    )
    bins = int(min(60, max(5, math.ceil(math.sqrt(series.values.shape[0])))))
    counts, edges = np.histogram(series.values, bins=bins)
    return CapabilityReport(
        cols.path,
        value,
        result,
        tuple(series.notes),
        series.missing_rows,
        tuple(float(e) for e in edges),
        tuple(int(c) for c in counts),
    )


@dataclass(frozen=True, slots=True, eq=False)
class GageReport:
    """Gage R&R of a CSV file in long format (one row per reading)."""

    source: str
    result: GageRRResult
    notes: tuple[str, ...]
    missing_rows: int

    def as_dict(self) -> dict[str, Any]:
        """The ``phasegate gage --format json`` document."""
        r = self.result

        def table(rows: Sequence[stats.AnovaRow] | None) -> list[dict[str, Any]] | None:
            if rows is None:
                return None
            return [
                {
                    "source": row.source,
                    "df": row.df,
                    "ss": row.ss,
                    "ms": _float(row.ms),
                    "f": _float(row.f),
                    "p": _float(row.p),
                }
                for row in rows
            ]

        return {
            "parts": r.parts,
            "operators": r.operators,
            "replicates": r.replicates,
            "interaction_pooled": r.interaction_pooled,
            "interaction_p": _float(r.interaction_p),
            "alpha_interaction": r.alpha_interaction,
            "anova": table(r.anova),
            "anova_reduced": table(r.anova_reduced),
            "components": [
                {k: (_float(v) if isinstance(v, float) else v) for k, v in row.items()}
                for row in r.rows()
            ],
            "pct_grr_study_var": _float(r.pct_study_var("gage_rr")),
            "pct_grr_tolerance": _float(r.pct_tolerance("gage_rr")),
            "ndc": r.ndc,
            "tolerance": r.tolerance,
            "study_multiplier": r.study_multiplier,
            "source": self.source,
            "missing_rows": self.missing_rows,
            "notes": list(self.notes),
        }


def analyse_gage(
    path: str | Path,
    *,
    part: str,
    operator: str,
    value: str,
    tolerance: float | None = None,
    alpha_interaction: float = 0.25,
    study_multiplier: float = 6.0,
) -> GageReport:
    """Crossed gage R&R from a long-format CSV file; see ``phasegate gage --help``."""
    cols = read_columns(path, numeric=[value], text=[part, operator])
    keep = ~np.isnan(cols.numeric[value])
    notes: list[str] = []
    if not keep.all():
        notes.append(_missing_note(value, cols.lines[~keep], "left out"))
    for col in (part, operator):
        absent = cols.text[col] == ""
        if (absent & keep).any():
            notes.append(_missing_note(col, cols.lines[absent & keep], "left out"))
        keep &= ~absent
    if not keep.any():
        raise invalid(f"{cols.path}: column {value!r}", "no complete rows")
    if not keep.all():
        notes.append("a gage study must be balanced: dropped rows can make it unbalanced")
    result = stats.gage_rr(
        cols.numeric[value][keep],
        cols.text[part][keep],
        cols.text[operator][keep],
        tolerance=tolerance,
        alpha_interaction=alpha_interaction,
        study_multiplier=study_multiplier,
    )
    return GageReport(cols.path, result, tuple(notes), int((~keep).sum()))
