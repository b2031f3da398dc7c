"""Rows of a CSV file as a series: missing values dropped and noted, rows put in subgroups."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from phasegate.domain.errors import invalid
from phasegate.ingest.columns import ColumnData, read_columns

_SHOWN_LINES = 10


def finite_or_none(value: float) -> float | None:
    """``value`` as a float, or None (JSON ``null``) when it is NaN or infinite."""
    return float(value) if math.isfinite(value) else None


def columns_of(
    source: str | Path | ColumnData, numeric: Sequence[str], text: Sequence[str]
) -> ColumnData:
    """The named columns of a CSV file, or ``source`` itself when it holds columns already read
    (stored measurements, for instance: ``services.read.measurements.stored_series``)."""
    if isinstance(source, ColumnData):
        return source
    return read_columns(source, numeric=numeric, text=text)


def missing_note(column: str, lines: NDArray[np.int64], what: str = "skipped") -> str:
    """The note that says how many rows had no value in ``column`` and on which file lines."""
    shown = ", ".join(str(int(v)) for v in lines[:_SHOWN_LINES])
    more = f", ... ({lines.shape[0] - _SHOWN_LINES} more)" if lines.shape[0] > _SHOWN_LINES else ""
    rows = "row" if lines.shape[0] == 1 else "rows"
    word = "line" if lines.shape[0] == 1 else "lines"
    return f"{lines.shape[0]} {rows} with no {column!r} value {what} ({word} {shown}{more})"


@dataclass(frozen=True, slots=True, eq=False)
class Series:
    """Rows that survived missing-value removal, in file order, with their subgroup."""

    values: NDArray[np.float64]
    sizes: NDArray[np.float64] | None
    group: NDArray[np.int64]  # subgroup index of each row
    labels: list[str | int]  # one per subgroup
    first_line: NDArray[np.int64]  # file line of each subgroup's first row
    lines: NDArray[np.int64]  # file line of each row, in the order of ``values``
    notes: list[str]
    missing_rows: int

    def subgroup_sizes(self) -> NDArray[np.int64]:
        """Number of rows in each subgroup."""
        return np.bincount(self.group).astype(np.int64)

    def labels_repeat(self) -> bool:
        """True when some subgroup has more than one row."""
        return bool(self.group.shape[0] != len(set(self.group.tolist())))


@dataclass(frozen=True, slots=True, eq=False)
class _Groups:
    group: NDArray[np.int64]
    labels: list[str | int]
    first_line: NDArray[np.int64]


def read_series(
    cols: ColumnData,
    value: str,
    subgroup: str | None,
    subgroup_size: int | None,
    size: str | None,
) -> Series:
    """Column ``value`` (and ``size``) without the rows that miss a needed cell, in subgroups.

    Subgroups come from the labels in column ``subgroup`` (in order of first appearance), from
    cutting consecutive rows into groups of ``subgroup_size``, or else one per row.
    """
    keep = ~np.isnan(cols.numeric[value])
    notes: list[str] = []
    if not keep.all():
        notes.append(missing_note(value, cols.lines[~keep]))
    sizes = None
    if size is not None:
        size_ok = ~np.isnan(cols.numeric[size])
        if not size_ok.all():
            notes.append(missing_note(size, cols.lines[~size_ok & keep]))
        keep &= size_ok
        sizes = cols.numeric[size]
    if subgroup is not None:
        label_ok = cols.text[subgroup] != ""
        if not (label_ok | ~keep).all():
            notes.append(missing_note(subgroup, cols.lines[~label_ok & keep]))
        keep &= label_ok
        groups = _by_label(cols, subgroup, keep)
    elif subgroup_size is not None:
        groups = _by_position(cols, subgroup_size, keep, notes)
    else:
        groups = _Groups(
            np.arange(int(keep.sum()), dtype=np.int64),
            list(range(1, int(keep.sum()) + 1)),
            cols.lines[keep],
        )
    order_rows = np.argsort(groups.group, kind="stable")
    return Series(
        values=cols.numeric[value][keep][order_rows],
        sizes=None if sizes is None else sizes[keep][order_rows],
        group=groups.group[order_rows],
        labels=groups.labels,
        first_line=groups.first_line,
        lines=cols.lines[keep][order_rows],
        notes=notes,
        missing_rows=int((~keep).sum()),
    )


def _by_label(cols: ColumnData, subgroup: str, keep: NDArray[np.bool_]) -> _Groups:
    names, first, inverse = np.unique(
        cols.text[subgroup][keep], return_index=True, return_inverse=True
    )
    order = np.argsort(first, kind="stable")  # subgroups in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return _Groups(
        group=rank[inverse.reshape(-1)],
        labels=names[order].tolist(),
        first_line=cols.lines[keep][first[order]],
    )


def _by_position(
    cols: ColumnData, subgroup_size: int, keep: NDArray[np.bool_], notes: list[str]
) -> _Groups:
    if subgroup_size < 1:
        raise invalid("subgroup_size", f"must be at least 1, got {subgroup_size}")
    n_rows = cols.rows
    position = np.arange(n_rows, dtype=np.int64) // subgroup_size
    raw_group = position[keep]
    present, group = np.unique(raw_group, return_inverse=True)
    if n_rows % subgroup_size:
        notes.append(
            f"the last subgroup has {n_rows % subgroup_size} of {subgroup_size} rows; "
            "it is used with its actual size"
        )
    empty = int(position[-1] + 1 - present.shape[0])
    if empty:
        notes.append(f"{empty} subgroups had no values at all and were left out")
    return _Groups(
        group=group.reshape(-1),
        labels=(present + 1).tolist(),
        first_line=cols.lines[keep][np.searchsorted(raw_group, present)],
    )
