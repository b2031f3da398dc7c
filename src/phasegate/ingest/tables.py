"""Delimited text read in blocks with pyarrow's streaming CSV reader, every cell kept as text.

The header is read first (it names the columns and fixes their types to text, so a block never
fails on a type guessed from an earlier one); the rest streams through ``pyarrow.csv.open_csv``
in blocks of ``CsvOptions.block_size`` bytes. Each data row is one physical line (a quoted value
may not span lines), so the line of every row is known: the header is line 1. A row with the
wrong number of fields, a NUL byte or a field longer than ``MAX_FIELD`` is rejected on its own
line; blank lines are skipped. Text that is not valid in the encoding stops the file with an
error naming the byte offset.

Both CSV layouts make their test runs with ``test_run_of``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from phasegate.domain.enums import Outcome
from phasegate.domain.errors import InvalidInput
from phasegate.ingest.records import (
    MeasurementIn,
    Rejected,
    Target,
    TestRunIn,
    derived_source_id,
    excerpt,
)
from phasegate.ingest.values import MAX_FIELD, check_span, parse_outcome, parse_time

_HEADER_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class CsvOptions:
    """How to read a delimited file.

    ``columns`` maps phasegate's column name to the file's (``{"serial": "SN"}``); ``delimiter``
    and ``encoding`` are those of the file (any codec Python knows); ``spec`` is the limits file
    of a wide CSV (columns ``name, unit, lsl, usl``); ``block_size`` is the bytes read at a time.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8"
    spec: str | Path | None = None
    block_size: int = 1 << 20

    def column(self, logical: str) -> str:
        return self.columns.get(logical, logical)


@dataclass(frozen=True, slots=True, eq=False)
class Block:
    """Rows of one block: each wanted column as a text array, the line of each row, and the rows
    already refused (index -> reason)."""

    lines: NDArray[np.int64]
    columns: dict[str, pa.Array]
    bad: dict[int, str]
    raw: pa.RecordBatch
    delimiter: str = ","

    def __len__(self) -> int:
        return int(self.lines.shape[0])

    def text(self, index: int) -> str:
        """The row as it was written (its cells joined again), for a rejection's ``raw``."""
        cells = self.raw.slice(index, 1).to_pylist()[0].values()
        return self.delimiter.join(str(v) for v in cells)


class Table:
    """A delimited file opened for reading in blocks; ``header`` is known once it is open."""

    def __init__(self, stream: BinaryIO, *, name: str, options: CsvOptions) -> None:
        self.name = name
        self.options = options
        self._source = _Checked(stream, name, options.encoding)
        self.header = self._read_header()

    def _read_header(self) -> tuple[str, ...]:
        first = self._source.readline_raw(_HEADER_LIMIT)
        if first.startswith(codecs.BOM_UTF8):
            first = first[len(codecs.BOM_UTF8) :]
        if not first.strip():
            rest = self._source.peek_nonblank()
            if not rest:
                raise InvalidInput(f"{self.name}: the file is empty")
            raise InvalidInput(f"{self.name}: line 1 is blank; the first line must be the header")
        text = first.decode("utf-8").rstrip("\r\n")
        try:
            cells = next(csv.reader([text], delimiter=self.options.delimiter))
        except csv.Error as error:
            raise InvalidInput(
                f"{self.name}: line 1 (the header) cannot be read: {error}"
            ) from None
        header = tuple(c.strip() for c in cells)
        seen: set[str] = set()
        for col in header:
            if col in seen:
                raise InvalidInput(f"{self.name}: the header names column {col!r} twice")
            seen.add(col)
        return header

    def one_column_hint(self) -> str:
        """When the header is one column, the delimiter it probably has (for the error)."""
        if len(self.header) != 1:
            return ""
        for sep, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'"), (",", "','")):
            if sep != self.options.delimiter and sep in self.header[0]:
                return (
                    f"{self.name}: the header is one column ({self.header[0][:80]!r}); "
                    f"the delimiter looks like {label}: give the delimiter option "
                    f"(delimiter={sep!r})"
                )
        return ""

    def resolve(
        self,
        required: Sequence[str],
        optional: Sequence[str],
        fmt: str,
        aliases: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """phasegate column -> file column, for the columns there are; a missing required one
        is an InvalidInput naming the file, the column and the mapping option. ``aliases`` gives
        a second default name of a column (``unit`` for ``serial``) when it is not mapped."""
        aliases = {k: v for k, v in (aliases or {}).items() if k not in self.options.columns}
        hint = self.one_column_hint()
        if hint:
            raise InvalidInput(hint)
        found: dict[str, str] = {}
        for logical in [*required, *optional]:
            actual = self.options.column(logical)
            if actual in self.header:
                found[logical] = actual
            elif aliases.get(logical) in self.header:
                found[logical] = aliases[logical]
        for logical in required:
            if logical not in found:
                actual = self.options.column(logical)
                raise InvalidInput(
                    f"{self.name}: the {fmt} format needs column {actual!r} ({logical}); "
                    f"the columns are {', '.join(self.header)}; map another column with "
                    f"the columns option ({logical}=<column>)"
                )
        return found

    def blocks(self, wanted: Mapping[str, str]) -> Iterator[Block | Rejected]:
        """The rows in blocks (only the ``wanted`` columns, phasegate names -> file names), with
        a Rejected for each row that cannot be a row, in file order."""
        invalid: list[tuple[int, str, str]] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            # pyarrow counts from the first line it reads: the line after the header
            line = int(row.number) + 1 if row.number is not None else 0
            invalid.append(
                (
                    line,
                    row.text,
                    f"has {row.actual_columns} fields, the header has {row.expected_columns}",
                )
            )
            return "skip"

        try:
            reader = self._open(on_invalid)
        except pa.ArrowInvalid as error:
            yield self._stopped(2, error)
            return
        next_line = 2  # the header is line 1; numbers of invalid rows count from it too
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as error:
                yield self._stopped(next_line, error)
                return
            lines, next_line, skipped = _assign_lines(batch.num_rows, next_line, invalid)
            for line, text, reason in skipped:
                yield Rejected(f"{self.name}:{line}", reason, excerpt(text))
            yield self._block(batch, lines, wanted)
        for line, text, reason in invalid:
            yield Rejected(f"{self.name}:{line}", reason, excerpt(text))

    def _open(self, on_invalid: Callable[[pacsv.InvalidRow], str]) -> pacsv.CSVStreamingReader:
        return pacsv.open_csv(
            self._source,
            read_options=pacsv.ReadOptions(
                use_threads=False,
                block_size=self.options.block_size,
                column_names=list(self.header),
                encoding="utf8",
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.options.delimiter,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in self.header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )

    def _stopped(self, next_line: int, error: pa.ArrowInvalid) -> Rejected:
        message = str(error)
        if "straddling" in message or "block" in message:
            reason = (
                f"a row from about line {next_line} is longer than {self.options.block_size} "
                "bytes (or a quoted value spans lines); the rest of the file was not read"
            )
        else:
            reason = f"unreadable from about line {next_line}: {message.splitlines()[0]}"
        return Rejected(f"{self.name}:{next_line}", reason)

    def _block(
        self, batch: pa.RecordBatch, lines: NDArray[np.int64], wanted: Mapping[str, str]
    ) -> Block:
        bad: dict[int, str] = {}
        blank = None
        for col in batch.schema.names:
            arr = batch.column(col)
            empty = pc.equal(pc.utf8_length(arr), 0)
            blank = empty if blank is None else pc.and_(blank, empty)
            too_long = pc.greater(pc.utf8_length(arr), MAX_FIELD)
            if pc.any(too_long).as_py():
                for i in np.flatnonzero(too_long.to_numpy(zero_copy_only=False)).tolist():
                    bad.setdefault(int(i), f"column {col!r} is longer than {MAX_FIELD} characters")
            nul = pc.match_substring(arr, "\x00")
            if pc.any(nul).as_py():
                for i in np.flatnonzero(nul.to_numpy(zero_copy_only=False)).tolist():
                    bad.setdefault(int(i), f"column {col!r} holds a NUL byte")
        columns = {logical: batch.column(actual) for logical, actual in wanted.items()}
        block = Block(lines, columns, bad, batch, self.options.delimiter)
        if blank is not None and pc.any(blank).as_py():
            keep = pc.invert(blank)
            kept = np.flatnonzero(keep.to_numpy(zero_copy_only=False))
            remap = {int(old): new for new, old in enumerate(kept)}
            block = Block(
                lines[kept],
                {k: pc.filter(v, keep) for k, v in columns.items()},
                {remap[i]: r for i, r in bad.items() if i in remap},
                batch.filter(keep),
                self.options.delimiter,
            )
        return block


def _assign_lines(
    rows: int, next_line: int, invalid: list[tuple[int, str, str]]
) -> tuple[NDArray[np.int64], int, list[tuple[int, str, str]]]:
    """The line of each of ``rows`` rows from ``next_line`` on, stepping over the lines of the
    invalid rows the reader skipped (taken out of ``invalid`` and returned)."""
    lines = np.arange(next_line, next_line + rows, dtype=np.int64)
    skipped: list[tuple[int, str, str]] = []
    invalid.sort()
    while invalid and rows and invalid[0][0] <= int(lines[-1]):
        entry = invalid.pop(0)
        skipped.append(entry)
        lines[lines >= entry[0]] += 1
    end = int(lines[-1]) + 1 if rows else next_line
    while invalid and invalid[0][0] < end:
        skipped.append(invalid.pop(0))
    return lines, end, skipped


class _Checked(io.RawIOBase):
    """The byte stream, decoded as it passes (to name the byte offset of text that is not in the
    encoding) and handed on as UTF-8 for pyarrow."""

    def __init__(self, stream: BinaryIO, name: str, encoding: str) -> None:
        super().__init__()
        self._stream = stream
        self._name = name
        try:
            self._decoder = codecs.getincrementaldecoder(encoding)("strict")
        except LookupError:
            raise InvalidInput(f"{name}: unknown encoding {encoding!r}") from None
        self._encoding = encoding
        self._utf8 = codecs.lookup(encoding).name == "utf-8"
        self._offset = 0
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readline_raw(self, limit: int) -> bytes:
        """The first line, as bytes (checked), leaving the rest to be read."""
        while b"\n" not in self._pending and not self._eof and len(self._pending) < limit:
            self._fill(1 << 16)
        cut = self._pending.find(b"\n")
        if cut < 0:
            if len(self._pending) >= limit:
                raise InvalidInput(f"{self._name}: line 1 is longer than {limit} bytes")
            line, self._pending = self._pending, b""
        else:
            line, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
        return line

    def peek_nonblank(self) -> bytes:
        while not self._eof and not self._pending.strip():
            self._pending = b""
            self._fill(1 << 16)
        return self._pending.strip()

    def _fill(self, size: int) -> None:
        chunk = self._stream.read(size)
        if not chunk:
            self._eof = True
            self._check(b"", final=True)
            return
        self._pending += self._check(chunk, final=False)

    def _check(self, chunk: bytes, *, final: bool) -> bytes:
        held = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            at = self._offset - held + error.start
            raise InvalidInput(
                f"{self._name}: not {self._encoding} text at byte {max(at, 0)} "
                f"({error.reason}); give the file's encoding with the encoding option "
                "(encoding='cp1252', say)"
            ) from None
        self._offset += len(chunk)
        return chunk if self._utf8 else text.encode("utf-8")

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = len(view)
        while len(self._pending) < want and not self._eof:
            self._fill(max(want, 1 << 16))
        out, self._pending = self._pending[:want], self._pending[want:]
        view[: len(out)] = out
        return len(out)


def floats(column: pa.Array, name: str) -> tuple[pa.Array, dict[int, str]]:
    """A text column as float64 (an empty cell is null) and the rows whose cell is not a finite
    number (index -> reason naming the column)."""
    trimmed = pc.utf8_trim_whitespace(column)
    empty = pc.equal(pc.utf8_length(trimmed), 0)
    nulled = pc.if_else(empty, pa.scalar(None, pa.string()), trimmed)
    bad: dict[int, str] = {}
    try:
        values = pc.cast(nulled, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        cells = nulled.to_pylist()
        parsed: list[float | None] = []
        for i, cell in enumerate(cells):
            try:
                parsed.append(None if cell is None else float(cell))
            except ValueError:
                parsed.append(None)
                bad[i] = f"column {name!r}: {cell[:80]!r} is not a number"
        values = pa.array(parsed, pa.float64())
    not_finite = pc.invert(pc.is_finite(values))
    if pc.any(not_finite).as_py():
        for i in np.flatnonzero(not_finite.to_numpy(zero_copy_only=False)).tolist():
            cell = str(column[int(i)].as_py())[:80]
            bad.setdefault(int(i), f"column {name!r}: {cell!r} is not a finite number")
    return values, bad


def test_run_of(
    where: str, f: dict[str, str], columns: dict[str, str], measurements: Sequence[MeasurementIn]
) -> TestRunIn | str:
    """The test run of one row's (or one run's) text ``f``, whose measurements are already read,
    or why it cannot be one; ``columns`` names the file's columns in the reasons."""
    serial = f["serial"].strip()
    if not serial:
        return f"column {columns['serial']!r} is empty"
    try:
        started_at = parse_time(f["started_at"])
    except ValueError as error:
        return f"column {columns['started_at']!r}: {error}"
    ended_at: dt.datetime | None = None
    try:
        if f.get("ended_at", "").strip():
            ended_at = parse_time(f["ended_at"])
        check_span(started_at, ended_at)
        outcome = parse_outcome(f["outcome"]) if "outcome" in f else overall_outcome(measurements)
    except ValueError as error:
        return str(error)
    station = f.get("station", "").strip() or None
    return TestRunIn(
        where=where,
        serial=serial,
        started_at=started_at,
        outcome=outcome,
        source_id=f.get("run_id", "").strip()
        or derived_source_id("run", serial, station, started_at),
        source="csv",
        station=station,
        procedure=f.get("procedure", "").strip(),
        ended_at=ended_at,
        operator=f.get("operator", "").strip(),
        target=target_of(f),
        measurements=measurements,
    )


def overall_outcome(measurements: Iterable[MeasurementIn]) -> Outcome:
    """A run without an outcome column: failed if a measurement failed, passed if one passed and
    none failed (a measurement without limits does not decide), else unset."""
    outcomes = {m.outcome for m in measurements}
    if Outcome.FAIL in outcomes:
        return Outcome.FAIL
    if Outcome.PASS in outcomes:
        return Outcome.PASS
    return Outcome.UNSET


def target_of(fields: dict[str, str]) -> Target:
    product = fields.get("product", "").strip() or None
    build = fields.get("build", "").strip() or None
    return Target(product, build) if product or build else Target()
