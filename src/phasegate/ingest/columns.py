"""Read named columns of a CSV file into NumPy arrays, with errors that name file, line and column.

Empty cells (and ``NA``, ``N/A``, ``null``, ``none``, ``-``) are *missing*: they are kept as NaN
(numeric) or ``""`` (text) and counted per column with their line numbers, so a caller can drop
them and say how many it dropped. A literal ``nan`` or ``inf`` is not a measurement and is an
error, as is any other text in a numeric column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from phasegate.domain.errors import InvalidInput, invalid

if TYPE_CHECKING:
    from _csv import Reader

__all__ = ["MISSING_TOKENS", "ColumnData", "read_columns"]

MISSING_TOKENS = frozenset({"", "na", "n/a", "null", "none", "-"})


@dataclass(frozen=True, slots=True, eq=False)
class ColumnData:
    """Columns read from one file.

    Attributes
    ----------
    path : str
        The file read.
    numeric : dict of str to ndarray
        float64 arrays; NaN marks a missing cell.
    text : dict of str to ndarray
        str arrays; ``""`` marks a missing cell.
    lines : ndarray
        File line number of each data row (the header is line 1).
    missing : dict of str to ndarray
        Line numbers of the missing cells of each requested column.
    header : tuple of str
        All column names of the file.
    """

    path: str
    numeric: dict[str, NDArray[np.float64]]
    text: dict[str, NDArray[np.str_]]
    lines: NDArray[np.int64]
    missing: dict[str, NDArray[np.int64]] = field(default_factory=dict)
    header: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return int(self.lines.shape[0])


def _sniff(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_columns(
    path: str | Path, numeric: Sequence[str] = (), text: Sequence[str] = ()
) -> ColumnData:
    """Read the named columns of a delimited text file (delimiter detected: , ; tab |).

    Raises :class:`~phasegate.domain.errors.InvalidInput` naming the file and, where it applies,
    the line and column: file missing or unreadable, no header, unknown column (listing the
    columns there are), a row with too few fields, no data rows, or a numeric cell that is not a
    finite number.
    """
    name = str(path)
    content = _read_text(Path(path), name)
    reader = csv.reader(io.StringIO(content), delimiter=_sniff(content[:8192]))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise invalid(name, "empty file (no header row)") from None
    wanted = list(dict.fromkeys([*numeric, *text]))
    index = _column_index(name, header, wanted)
    cells, lines = _cells(name, reader, header, index)
    line_arr = np.asarray(lines, dtype=np.int64)
    out_num: dict[str, NDArray[np.float64]] = {}
    out_text: dict[str, NDArray[np.str_]] = {}
    missing: dict[str, NDArray[np.int64]] = {}
    for col in wanted:
        raw = np.char.strip(np.asarray(cells[col], dtype=np.str_))
        miss = np.isin(np.char.lower(raw), list(MISSING_TOKENS))
        missing[col] = line_arr[miss]
        if col in numeric:
            out_num[col] = _to_float(name, col, raw, miss, line_arr)
        if col in text:
            out_text[col] = np.where(miss, "", raw)
    return ColumnData(name, out_num, out_text, line_arr, missing, tuple(header))


def _read_text(p: Path, name: str) -> str:
    if not p.is_file():
        raise invalid(name, "file not found")
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise invalid(name, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise invalid(name, f"cannot read ({error.strerror})") from None


def _column_index(name: str, header: list[str], wanted: list[str]) -> dict[str, int]:
    """Position of each wanted column in the header; an unknown column lists those there are."""
    index: dict[str, int] = {}
    for col in wanted:
        if col not in header:
            raise invalid(
                f"{name}: column {col!r}", f"not found; the columns are {', '.join(header)}"
            )
        index[col] = header.index(col)
    return index


def _cells(
    name: str, reader: Reader, header: list[str], index: dict[str, int]
) -> tuple[dict[str, list[str]], list[int]]:
    """The wanted cells of every data row, and the file line of each row (blank lines skipped)."""
    need = max(index.values(), default=-1) + 1
    cells: dict[str, list[str]] = {col: [] for col in index}
    lines: list[int] = []
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) < need:
            raise invalid(
                f"{name}, line {line}",
                f"has {len(row)} fields but column {header[need - 1]!r} is field {need}",
            )
        lines.append(line)
        for col, i in index.items():
            cells[col].append(row[i])
    if not lines:
        raise invalid(name, "no data rows after the header")
    return cells, lines


def _to_float(
    name: str, col: str, raw: NDArray[np.str_], miss: NDArray[np.bool_], lines: NDArray[np.int64]
) -> NDArray[np.float64]:
    filled = np.where(miss, "nan", raw)
    try:
        values = np.asarray(filled, dtype=np.float64)
    except ValueError:
        values = np.empty(raw.shape[0], dtype=np.float64)
        for i, cell in enumerate(filled.tolist()):
            try:
                values[i] = float(cell)
            except ValueError:
                raise InvalidInput(
                    f"{name}, line {int(lines[i])}, column {col!r}: {cell!r} is not a number",
                ) from None
    bad = ~miss & ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInput(
            f"{name}, line {int(lines[i])}, column {col!r}: {str(raw[i])!r} is not a finite number "
            "(leave the cell empty for a missing value)"
        )
    return values
