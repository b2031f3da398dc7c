"""One entry to every parser: tell a file's format, read it as a stream of records, batch it.

``read_path`` and ``read_stream`` yield :data:`~phasegate.ingest.records.Parsed` items in file
order without holding the file: CSV is read in blocks, JSON lines a line at a time (a single JSON
document is read whole, up to ``documents.MAX_DOCUMENT``). A record that cannot be read is a
``Rejected`` in the stream; a file that cannot be read at all (empty, no header, a required
column missing, the wrong delimiter or encoding, malformed JSON) raises
:class:`~phasegate.domain.errors.InvalidInput` naming the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from phasegate.domain.errors import InvalidInput
from phasegate.ingest.csv_long import read_long
from phasegate.ingest.csv_wide import read_wide
from phasegate.ingest.events import read_defects_csv, read_passes_csv, read_passes_json
from phasegate.ingest.native import read_native
from phasegate.ingest.openhtf import read_openhtf
from phasegate.ingest.records import Parsed, TestRunIn
from phasegate.ingest.tables import CsvOptions
from phasegate.ingest.values import TEST_DATA_FORMAT

FORMATS = ("openhtf", "csv", "csv-wide", "json", "passes", "defects")
"""The formats read: OpenHTF JSON records, long CSV, wide CSV, the native JSON document,
station passes (CSV or JSON) and defects (CSV)."""

HEAD = 64 * 1024
"""The bytes looked at to tell a format."""

_JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}


def detect_format(
    name: str | Path, head: bytes | None = None, *, options: CsvOptions | None = None
) -> str:
    """The format of a file from its name and its first bytes (``head``; without it, the first
    :data:`HEAD` bytes of the file at ``name``).

    JSON: the native document has ``"format": "phasegate.test-data/1"``, an OpenHTF record
    ``dut_id`` and ``phases``, station passes ``station`` with ``result`` or ``attempt``. CSV:
    the header decides — ``code``, ``severity`` and ``found_at`` are defects, ``name`` and
    ``value`` a long CSV, ``station`` and ``started_at`` with ``result`` or ``attempt`` station
    passes, ``serial`` and ``started_at`` with other columns a wide CSV. Column names are those
    of ``options.columns`` where it maps them.
    """
    if head is None:
        head = _head_of(Path(name))
    name = str(name)
    text = head.removeprefix(codecs.BOM_UTF8)
    if not text.strip():
        raise InvalidInput(f"{name}: the file is empty")
    if Path(name).suffix.lower() in _JSON_SUFFIXES or text.lstrip()[:1] in (b"{", b"["):
        return _json_format(name, text)
    return _csv_format(name, text, options or CsvOptions())


def _head_of(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            return stream.read(HEAD)
    except FileNotFoundError:
        raise InvalidInput(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: not a file") from None


def _json_format(name: str, text: bytes) -> str:
    compact = text.replace(b" ", b"")
    if b'"format":"' + TEST_DATA_FORMAT.encode() + b'"' in compact:
        return "json"
    if b'"dut_id"' in text and (b'"phases"' in text or b'"start_time_millis"' in text):
        return "openhtf"
    if b'"station_passes"' in text or (
        b'"station"' in text and (b'"result"' in text or b'"attempt"' in text)
    ):
        return "passes"
    raise InvalidInput(
        f"{name}: cannot tell the JSON format: not an OpenHTF record (no dut_id and phases), "
        f'not a native document (no "format": "{TEST_DATA_FORMAT}") and not station passes; '
        f"give the format ({', '.join(FORMATS)})"
    )


def _csv_format(name: str, text: bytes, options: CsvOptions) -> str:
    first = text.split(b"\n", 1)[0].decode(options.encoding, "replace").rstrip("\r")
    header = {c.strip() for c in next(csv.reader([first], delimiter=options.delimiter), [])}
    present = {k for k in _LOGICAL if options.column(k) in header} | (
        header - set(options.columns.values())
    )

    def has(*columns: str) -> bool:
        return all(c in present for c in columns)

    if has("code", "severity", "found_at"):
        return "defects"
    if has("name", "value"):
        return "csv"
    if has("station", "started_at") and (has("result") or has("attempt")):
        return "passes"
    if has("serial", "started_at") and len(header) > 2:
        return "csv-wide"
    if len(header) == 1:
        for sep in (";", "\t", "|", ","):
            if sep != options.delimiter and sep in first:
                raise InvalidInput(
                    f"{name}: the header is one column; the delimiter looks like {sep!r}: give "
                    f"the delimiter option (delimiter={sep!r})"
                )
    raise InvalidInput(
        f"{name}: cannot tell the CSV format from its columns ({', '.join(sorted(header))}); "
        f"give the format ({', '.join(FORMATS)}) or map the columns with the columns option"
    )


_LOGICAL = (
    "serial",
    "station",
    "started_at",
    "ended_at",
    "name",
    "value",
    "result",
    "attempt",
    "code",
    "severity",
    "found_at",
)


def read_path(
    path: str | Path, *, format: str = "auto", options: CsvOptions | None = None
) -> Iterator[Parsed]:
    """The records of a file, in file order (see :func:`read_stream`)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"{p}: {'not a file' if p.exists() else 'file not found'}")
    return _from_file(p, format, options)


def _from_file(p: Path, format: str, options: CsvOptions | None) -> Iterator[Parsed]:
    with p.open("rb") as stream:
        yield from read_stream(stream, name=str(p), format=format, options=options)


def read_stream(
    stream: BinaryIO, *, name: str, format: str = "auto", options: CsvOptions | None = None
) -> Iterator[Parsed]:
    """The records of a byte stream named ``name`` (the name used in every ``where``).

    ``format`` is one of :data:`FORMATS` or ``"auto"`` (:func:`detect_format`); ``options``
    apply to CSV (column mapping, delimiter, encoding, spec file). An error about the whole
    file is an InvalidInput raised while iterating, at the latest with the first item; records
    before a fault found mid-file (text not in the encoding) have been yielded by then.
    """
    yield from _dispatch(stream, name, format, options)


def _dispatch(
    stream: BinaryIO, name: str, format: str, options: CsvOptions | None
) -> Iterator[Parsed]:
    if format != "auto" and format not in FORMATS:
        raise InvalidInput(f"{name}: unknown format {format!r} (auto, {', '.join(FORMATS)})")
    head = stream.read(HEAD)
    source: BinaryIO = io.BufferedReader(_Prefixed(head, stream), HEAD)
    if format == "auto":
        format = detect_format(name, head, options=options)
    json_text = head.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1] in (b"{", b"[")
    if format == "openhtf":
        return read_openhtf(source, name=name)
    if format == "json":
        return read_native(source, name=name)
    if format == "passes" and json_text:
        return read_passes_json(source, name=name)
    readers: dict[str, Any] = {
        "csv": read_long,
        "csv-wide": read_wide,
        "passes": read_passes_csv,
        "defects": read_defects_csv,
    }
    return readers[format](source, name=name, options=options)  # type: ignore[no-any-return]


def batches(
    items: Iterable[Parsed], size: int, *, max_measurements: int | None = None
) -> Iterator[list[Parsed]]:
    """The items in lists of at most ``size`` records (a record is never split), closed early
    once they hold ``max_measurements`` measurements, if given."""
    if size < 1:
        raise ValueError(f"size ({size}) must be at least 1")
    batch: list[Parsed] = []
    measured = 0
    for item in items:
        batch.append(item)
        if isinstance(item, TestRunIn):
            measured += len(item.measurements)
        if len(batch) >= size or (max_measurements is not None and measured >= max_measurements):
            yield batch
            batch, measured = [], 0
    if batch:
        yield batch


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were read already: they are given back first."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)
