"""JSON files as a stream of located objects: one document, an array of them, or JSON lines.

JSON lines are read a line at a time, so their files may be of any size. A single document (or
an array) is read whole, up to ``MAX_DOCUMENT`` bytes; a larger one is refused with the advice to
write JSON lines. Text that is not UTF-8 is refused naming the byte offset; malformed JSON naming
the line and column (a malformed line of a JSON-lines file is rejected on its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from phasegate.domain.errors import InvalidInput
from phasegate.ingest.records import Rejected, excerpt

MAX_DOCUMENT = 256 * 1024 * 1024
"""The largest JSON document read whole, in bytes."""

Located = tuple[str, Any]
"""Where an object is (``file#/pointer`` or ``file:line``) and the object."""


def load_document(data: bytes, name: str) -> Any:
    """One JSON document, or an InvalidInput naming the byte, or the line and column."""
    if not data.strip():
        raise InvalidInput(f"{name}: the file is empty")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"{name}: not UTF-8 text at byte {error.start} ({error.reason}); JSON must be UTF-8"
        ) from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(
            f"{name}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def read_limited(stream: BinaryIO, name: str, first: bytes = b"") -> bytes:
    """The rest of the stream after ``first``, refused when it is larger than MAX_DOCUMENT."""
    rest = stream.read(MAX_DOCUMENT + 1 - len(first))
    data = first + rest
    if len(data) > MAX_DOCUMENT:
        raise InvalidInput(
            f"{name}: a JSON document larger than {MAX_DOCUMENT // (1024 * 1024)} MiB is not read "
            "whole; write one record per line (JSON lines) instead"
        )
    return data


def objects(stream: BinaryIO, name: str) -> Iterator[Located | Rejected]:
    """Each object of a JSON file: the document itself (``name``), the items of an array
    (``name#/3``) or the lines of a JSON-lines file (``name:12``)."""
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    if not first:
        raise InvalidInput(f"{name}: the file is empty")
    if first.lstrip().startswith(b"{"):
        try:
            head = orjson.loads(first)
        except orjson.JSONDecodeError:
            head = None
        if isinstance(head, dict):
            yield from _lines(stream, name, head)
            return
    document = load_document(read_limited(stream, name, first), name)
    if isinstance(document, list):
        for i, item in enumerate(document):
            yield f"{name}#/{i}", item
    else:
        yield name, document


def _lines(stream: BinaryIO, name: str, head: dict[str, Any]) -> Iterator[Located | Rejected]:
    """A file whose first line is a whole object: JSON lines, or one object on one line (then
    located by the file's name alone, like a document)."""
    line = 1
    pending: Located | None = (name, head)
    for raw in stream:
        line += 1
        if not raw.strip():
            continue
        if pending is not None:
            yield f"{name}:1", head
            pending = None
        try:
            yield f"{name}:{line}", orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            yield Rejected(
                f"{name}:{line}",
                f"not valid JSON at column {error.colno}: {error.msg}",
                excerpt(text),
            )
    if pending is not None:
        yield pending


def dump(obj: Any) -> str:
    """An object as compact JSON text (for a rejection's ``raw``)."""
    try:
        return excerpt(orjson.dumps(obj, default=str).decode())
    except TypeError:
        return excerpt(repr(obj))
