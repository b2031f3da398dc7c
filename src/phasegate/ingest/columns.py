"""Read named columns of a CSV file into NumPy arrays, with errors that name file, line and column.

Empty cells (and ``NA``, ``N/A``, ``null``, ``none``, ``-``) are *missing*: they are kept as NaN
(numeric) or ``""`` (text) and counted per column with their line numbers, so a caller can drop
them and say how many it dropped. A literal ``nan`` or ``inf`` is not a measurement and is an
error, as is any other text in a numeric column.

A regular file (one record per line, every row with all its fields, missing cells spelled in
one of the usual cases) is read by pyarrow's multithreaded CSV reader straight into float64
columns. Anything else - a bad cell, a short or long row, a blank-looking line, a quoted line
break, ``Na`` in an unusual case - is read again by Python's ``csv`` module row by row, which
names the line and column of what is wrong; both give the same result for the same file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from phasegate.domain.errors import InvalidInput, invalid

if TYPE_CHECKING:
    from _csv import Reader

__all__ = ["MISSING_TOKENS", "ColumnData", "read_columns"]

MISSING_TOKENS = frozenset({"", "na", "n/a", "null", "none", "-"})

# The spellings of the missing tokens that the fast reader takes as missing; any other case
# ("nA", "NuLL") sends the file to the row-by-row reader, which compares case-insensitively.
_NULL_SPELLINGS = sorted(
    {spelling for token in MISSING_TOKENS for spelling in (token, token.upper(), token.title())}
)
_SPACE_BYTES = np.array([ord(c) for c in " \t\v\f\r"], dtype=np.uint8)
_SAMPLE = 8192


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
    data = _read_bytes(Path(path), name)
    wanted = list(dict.fromkeys([*numeric, *text]))
    fast = _read_fast(name, data, list(numeric), list(text), wanted)
    if fast is not None:
        return fast
    return _read_rows(name, data.decode("utf-8-sig"), numeric, text, wanted)


def _read_rows(
    name: str, content: str, numeric: Sequence[str], text: Sequence[str], wanted: list[str]
) -> ColumnData:
    """The row-by-row reader: any file, and the exact line and column of what is wrong."""
    reader = csv.reader(io.StringIO(content), delimiter=_sniff(content[:_SAMPLE]))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise invalid(name, "empty file (no header row)") from None
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


def _read_bytes(p: Path, name: str) -> bytes:
    """The file's bytes, once they are known to be UTF-8 text."""
    if not p.is_file():
        raise invalid(name, "file not found")
    try:
        data = p.read_bytes()
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise invalid(name, f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise invalid(name, f"cannot read ({error.strerror})") from None
    return data


def _read_fast(
    name: str, data: bytes, numeric: list[str], text: list[str], wanted: list[str]
) -> ColumnData | None:
    """The columns read by pyarrow, or None when the file needs the row-by-row reader."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    sample = body[:_SAMPLE].decode("utf-8", errors="ignore")
    delimiter = _sniff(sample)
    raw_header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    if not raw_header or len(set(raw_header)) != len(raw_header) or set(numeric) & set(text):
        return None  # no header, a name twice, or a column read both as number and as text
    header = [h.strip() for h in raw_header]
    index = _column_index(name, header, wanted)
    lines = _data_lines(body)
    if lines is None or lines.shape[0] == 0:
        return None  # lines of spaces, or no data rows: the row-by-row reader knows them
    raw = {col: raw_header[index[col]] for col in wanted}
    table = _arrow_table(body, delimiter, raw_header, raw, numeric)
    if table is None or table.num_rows != lines.shape[0]:
        return None  # a row of the wrong length, a bad cell or a quoted line break
    return _columns(name, table, raw, numeric, lines, header)


def _data_lines(body: bytes) -> NDArray[np.int64] | None:
    """File line number of each non-blank line after the header (the header is line 1).

    None when a line holds only spaces: the csv module skips it, pyarrow would read a row.
    """
    raw = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(body)]))
    length = stops - starts
    filled = length > 0
    first = np.zeros(length.shape[0], dtype=np.uint8)
    first[filled] = raw[starts[filled]]
    blank = ~filled | ((length == 1) & (first == ord("\r")))
    spaced = np.flatnonzero(~blank & np.isin(first, _SPACE_BYTES))
    for i in spaced.tolist():  # lines that start with a space: rare, and most hold data
        if not body[starts[i] : stops[i]].decode("utf-8", errors="replace").strip():
            return None
    if blank[0]:
        return np.empty(0, dtype=np.int64)  # the header line is blank
    number = np.flatnonzero(~blank) + 1
    return number[1:].astype(np.int64)


def _arrow_table(
    body: bytes, delimiter: str, raw_header: list[str], raw: dict[str, str], numeric: list[str]
) -> Any:
    """The wanted columns (``raw`` maps each to its name as written), numeric ones as float64
    with null where a cell is missing; None when a row or a cell is not regular."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    irregular: list[int] = []

    def on_invalid(row: Any) -> str:
        irregular.append(1)
        return "skip"

    types = {raw[col]: pa.float64() if col in numeric else pa.string() for col in raw}
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=raw_header, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(types),
                null_values=_NULL_SPELLINGS,
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return None if irregular else table


def _columns(
    name: str,
    table: Any,
    raw: dict[str, str],
    numeric: list[str],
    lines: NDArray[np.int64],
    header: list[str],
) -> ColumnData | None:
    """The arrays of an arrow table, or None when a numeric cell is not finite."""
    import pyarrow as pa

    out_num: dict[str, NDArray[np.float64]] = {}
    out_text: dict[str, NDArray[np.str_]] = {}
    missing: dict[str, NDArray[np.int64]] = {}
    tokens = pa.array(sorted(MISSING_TOKENS), type=pa.string())
    for col, written in raw.items():
        column = table.column(written)
        if col in numeric:
            miss = column.is_null().to_numpy(zero_copy_only=False)
            values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            if not np.isfinite(values[~miss]).all():
                return None  # nan or inf: the row-by-row reader names the cell
            out_num[col] = values
        else:
            import pyarrow.compute as pc  # only for text columns: it takes a while to import

            trimmed = pc.utf8_trim_whitespace(column)
            is_token = pc.is_in(pc.utf8_lower(trimmed), value_set=tokens)
            miss = is_token.to_numpy(zero_copy_only=False)
            cells = np.asarray(trimmed.to_numpy(zero_copy_only=False), dtype=np.str_)
            out_text[col] = np.where(miss, "", cells)
        missing[col] = lines[miss]
    return ColumnData(name, out_num, out_text, lines, missing, tuple(header))


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
