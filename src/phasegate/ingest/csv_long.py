"""Long CSV: one row per measurement; the rows of one test run follow each other.

Rows with the same run key — the ``run_id`` column if there is one, else serial + station +
started_at — form one :class:`TestRunIn`; its run fields (station, times, procedure, operator,
outcome, product, build) come from its first row. A run key that comes back after its run ended
is refused row by row (never merged with the earlier run, never dropped). A run with one bad row
is refused whole, each of its rows with the reason, so that a repaired file brings it in whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from phasegate.domain.enums import Outcome
from phasegate.ingest.measurement_columns import RunMeasurements
from phasegate.ingest.records import Parsed, Rejected, TestRunIn, excerpt
from phasegate.ingest.tables import Block, CsvOptions, Table, floats, test_run_of
from phasegate.ingest.values import parse_outcome

REQUIRED = ("serial", "started_at", "name", "value")
OPTIONAL = (
    "station",
    "ended_at",
    "procedure",
    "operator",
    "outcome",
    "unit",
    "lsl",
    "usl",
    "measurement_outcome",
    "run_id",
    "product",
    "build",
)
RUN_FIELDS = ("station", "ended_at", "procedure", "operator", "outcome", "product", "build")


@dataclass(slots=True)
class _Run:
    key: str
    line: int
    fields: dict[str, str]
    columns: _Columns = field(default_factory=lambda: _Columns([], [], [], [], [], []))
    parts: list[tuple[Block, int, int]] = field(default_factory=list)  # its rows, per block
    bad: tuple[int, str] | None = None
    late: bool = False  # its key ended before: every row is refused as it comes


def read_long(
    stream: BinaryIO, *, name: str, options: CsvOptions | None = None
) -> Iterator[Parsed]:
    """The test runs of a long CSV, in file order, block by block."""
    table = Table(stream, name=name, options=options or CsvOptions())
    return _Reader(table, table.resolve(REQUIRED, OPTIONAL, "csv (long)")).records()


@dataclass(frozen=True, slots=True)
class _Columns:
    """Measurement columns as Python lists of equal length."""

    names: list[str]
    values: list[float | None]
    units: list[str]
    lsl: list[float | None]
    usl: list[float | None]
    outcomes: list[Outcome]

    def extend(self, other: _Columns, a: int, b: int) -> None:
        """Add rows ``a:b`` of ``other``."""
        self.names.extend(other.names[a:b])
        self.values.extend(other.values[a:b])
        self.units.extend(other.units[a:b])
        self.lsl.extend(other.lsl[a:b])
        self.usl.extend(other.usl[a:b])
        self.outcomes.extend(other.outcomes[a:b])


@dataclass(frozen=True, slots=True)
class _Cells:
    """One block's measurement columns, and its bad rows (sorted)."""

    columns: _Columns
    bad_rows: np.ndarray
    bad: dict[int, str]


class EndedRuns:
    """The key and first line of every run read so far, in 16 bytes a run: a 64-bit digest of
    the key in a sorted array (recent ones in a small dict until they are merged in), so that a
    file of millions of runs is checked in bounded memory. Two keys with the same digest (odds
    about n²/2⁶⁵) would refuse the later run as a repeat, never merge it."""

    MERGE_AT = 65_536

    def __init__(self) -> None:
        self._digests = np.empty(0, dtype=np.uint64)
        self._lines = np.empty(0, dtype=np.int64)
        self._recent: dict[int, int] = {}

    @staticmethod
    def _digest(key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")

    def add(self, key: str, line: int) -> None:
        self._recent[self._digest(key)] = line
        if len(self._recent) >= self.MERGE_AT:
            digests = np.fromiter(self._recent.keys(), dtype=np.uint64, count=len(self._recent))
            lines = np.fromiter(self._recent.values(), dtype=np.int64, count=len(self._recent))
            all_digests = np.concatenate((self._digests, digests))
            order = np.argsort(all_digests, kind="stable")
            self._digests = all_digests[order]
            self._lines = np.concatenate((self._lines, lines))[order]
            self._recent = {}

    def get(self, key: str) -> int | None:
        """The first line of the run with this key, if one was read."""
        digest = self._digest(key)
        line = self._recent.get(digest)
        if line is not None:
            return line
        at = int(np.searchsorted(self._digests, np.uint64(digest)))
        if at < self._digests.shape[0] and int(self._digests[at]) == digest:
            return int(self._lines[at])
        return None


class _Reader:
    def __init__(self, table: Table, columns: dict[str, str]) -> None:
        self.table = table
        self.name = table.name
        self.columns = columns
        self.ended = EndedRuns()
        self.current: _Run | None = None
        self.unreadable: list[int] = []  # lines that could not be split into fields

    def records(self) -> Iterator[Parsed]:
        for item in self.table.blocks(self.columns):
            if isinstance(item, Rejected):
                self.unreadable.append(int(item.where.rsplit(":", 1)[1]))
                yield item
            else:
                yield from self._block(item)
        if self.current is not None:
            yield from self._finish(self.current)

    def _block(self, block: Block) -> Iterator[Parsed]:
        cells = self._cells(block)
        keys = self._keys(block)
        n = len(block)
        if n == 0:
            return
        changes = np.flatnonzero(pc.not_equal(keys[1:], keys[:-1]).to_numpy(zero_copy_only=False))
        bounds = np.concatenate(([0], changes + 1, [n])).astype(np.int64)
        firsts = pa.array(bounds[:-1])
        seg_keys = keys.take(firsts).to_pylist()
        wanted = [k for k in ("serial", "started_at", "run_id", *RUN_FIELDS) if k in block.columns]
        heads = {k: block.columns[k].take(firsts).to_pylist() for k in wanted}
        lines = block.lines
        for seg, (a, b) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)):
            key = seg_keys[seg]
            run = self.current
            if run is None or run.key != key:
                if run is not None:
                    yield from self._finish(run)
                run = self.current = self._start(key, int(lines[a]), heads, seg)
            if run.late:
                yield from self._late(run, block, a, b)
                continue
            run.parts.append((block, a, b))
            if run.bad is None:
                self._add(run, cells, block, a, b)

    def _add(self, run: _Run, cells: _Cells, block: Block, a: int, b: int) -> None:
        at = int(np.searchsorted(cells.bad_rows, a))
        if at < len(cells.bad_rows) and cells.bad_rows[at] < b:
            i = int(cells.bad_rows[at])
            run.bad = (int(block.lines[i]), cells.bad[i])
            return
        run.columns.extend(cells.columns, a, b)

    def _late(self, run: _Run, block: Block, a: int, b: int) -> Iterator[Rejected]:
        first = self.ended.get(run.key)
        reason = (
            f"the run of line {first} ({self._describe(run.key)}) ended before this row; "
            "the rows of one run must follow each other"
        )
        for i in range(a, b):
            yield Rejected(f"{self.name}:{int(block.lines[i])}", reason, excerpt(block.text(i)))

    def _cells(self, block: Block) -> _Cells:
        cols = block.columns
        values, bad = floats(cols["value"], self.columns["value"])
        for i in np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False)).tolist():
            bad.setdefault(int(i), f"column {self.columns['value']!r} is empty")
        names = pc.utf8_trim_whitespace(cols["name"])
        for i in np.flatnonzero(
            pc.equal(pc.utf8_length(names), 0).to_numpy(zero_copy_only=False)
        ).tolist():
            bad.setdefault(int(i), f"column {self.columns['name']!r} is empty")
        n = len(block)
        limits: dict[str, list[float | None]] = {}
        for k in ("lsl", "usl"):
            if k in cols:
                arr, wrong = floats(cols[k], self.columns[k])
                limits[k] = arr.to_pylist()
                for i, reason in wrong.items():
                    bad.setdefault(i, reason)
            else:
                limits[k] = [None] * n
        outcomes = [Outcome.UNSET] * n
        if "measurement_outcome" in cols:
            outcomes = self._outcomes(cols["measurement_outcome"], bad)
        bad.update(block.bad)
        units = pc.utf8_trim_whitespace(cols["unit"]).to_pylist() if "unit" in cols else [""] * n
        columns = _Columns(
            names.to_pylist(), values.to_pylist(), units, limits["lsl"], limits["usl"], outcomes
        )
        return _Cells(columns, np.array(sorted(bad), dtype=np.int64), bad)

    def _outcomes(self, column: pa.Array, bad: dict[int, str]) -> list[Outcome]:
        encoded = pc.dictionary_encode(pc.utf8_trim_whitespace(column))
        parsed: list[Outcome] = []
        wrong: dict[int, str] = {}
        for j, cell in enumerate(encoded.dictionary.to_pylist()):
            try:
                parsed.append(parse_outcome(cell))
            except ValueError as error:
                parsed.append(Outcome.UNSET)
                wrong[j] = f"column {self.columns['measurement_outcome']!r}: {error}"
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        for j, reason in wrong.items():
            for i in np.flatnonzero(indices == j).tolist():
                bad.setdefault(int(i), reason)
        table = np.empty(len(parsed), dtype=object)
        table[:] = parsed
        out: list[Outcome] = table[indices].tolist()
        return out

    def _keys(self, block: Block) -> pa.Array:
        cols = block.columns
        if "run_id" in cols:
            return pc.utf8_trim_whitespace(cols["run_id"])
        parts = [cols["serial"], cols.get("station"), cols["started_at"]]
        n = len(block)
        trimmed = [
            pc.utf8_trim_whitespace(p) if p is not None else pa.array([""] * n, pa.string())
            for p in parts
        ]
        return pc.binary_join_element_wise(*trimmed, _SEP)

    def _describe(self, key: str) -> str:
        if "run_id" in self.columns:
            return f"run_id {key!r}"
        serial, station, started = key.split(_SEP)
        return f"serial {serial!r}, station {station!r}, started_at {started!r}"

    def _start(self, key: str, line: int, heads: dict[str, list[str]], seg: int) -> _Run:
        if self.ended.get(key) is not None:
            return _Run(key, line, {}, late=True)
        return _Run(key, line, {k: v[seg] for k, v in heads.items()})

    def _finish(self, run: _Run) -> Iterator[Parsed]:
        self.current = None
        if run.late:
            return
        self.ended.add(run.key, run.line)
        if run.bad is None:
            run.bad = self._unreadable_within(run)
        made = self._run(run) if run.bad is None else ""
        if isinstance(made, TestRunIn):
            yield made
            return
        bad_line, reason = run.bad if run.bad else (run.line, made)
        for block, a, b in run.parts:
            for i in range(a, b):
                line = int(block.lines[i])
                why = (
                    reason if line == bad_line else f"its run is refused: line {bad_line}: {reason}"
                )
                yield Rejected(f"{self.name}:{line}", why, excerpt(block.text(i)))

    def _unreadable_within(self, run: _Run) -> tuple[int, str] | None:
        """A line among the run's rows that could not be read makes the run incomplete."""
        block, _, b = run.parts[-1]
        last = int(block.lines[b - 1])
        for line in self.unreadable:
            if run.line < line < last:
                return line, "the row could not be read into fields"
        self.unreadable = [line for line in self.unreadable if line > last]
        return None

    def _run(self, run: _Run) -> TestRunIn | str:
        """The test run, or why it cannot be one."""
        c = run.columns
        measurements = RunMeasurements(c.names, c.values, c.units, c.lsl, c.usl, c.outcomes)
        return test_run_of(f"{self.name}:{run.line}", run.fields, self.columns, measurements)


_SEP = "\x1f"
