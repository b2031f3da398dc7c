"""Rendering of command results as a Rich table, exact JSON or CSV.

``--format json`` is exact and machine-readable: floats are not rounded (shortest round-trip
form), NaN and infinities are ``null``, keys stay snake_case, text is UTF-8. It is written by
orjson, which serialises NumPy arrays and scalars natively.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import enum
import io
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def to_jsonable(value: Any, *, keep_dates: bool = False) -> Any:
    """Turn results (dataclasses, enums, dates, NumPy scalars) into JSON-ready values.

    Non-finite floats become ``null``: JSON has no NaN or infinity. ``keep_dates`` leaves dates
    and datetimes as they are, for tables that format them for a person.
    """
    # Plain values first: large results are mostly floats, and the generic checks below cost
    # far more than the conversion itself.
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int or kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): to_jsonable(v, keep_dates=keep_dates) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [to_jsonable(v, keep_dates=keep_dates) for v in value]
    return _structured_to_jsonable(value, keep_dates)


def _structured_to_jsonable(value: Any, keep_dates: bool) -> Any:
    """``to_jsonable`` for everything that is not a plain JSON value or a list or dict."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name), keep_dates=keep_dates)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, keep_dates=keep_dates) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value if keep_dates else value.isoformat()
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Iterable):
        return [to_jsonable(v, keep_dates=keep_dates) for v in value]
    if hasattr(value, "item") and callable(value.item):  # NumPy scalar
        return to_jsonable(value.item(), keep_dates=keep_dates)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


PRETTY_JSON_LIMIT = 1_000_000  # bytes; beyond this indentation only costs time and space

# Dates and dataclasses go through ``to_jsonable`` (``isoformat()``, field by field); lists,
# dicts, numbers, text, enums and NumPy values are written by orjson itself, NaN as null.
_JSON_OPTIONS = (
    orjson.OPT_SERIALIZE_NUMPY
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


def _json_default(value: Any) -> Any:
    """What orjson does not write itself, as ``to_jsonable`` makes it."""
    plain = _structured_to_jsonable(value, False)
    if plain is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return plain


def dump_json_bytes(data: Any) -> bytes:
    """Exact JSON as UTF-8: indented for reading, compact when the document is large."""
    compact = orjson.dumps(data, default=_json_default, option=_JSON_OPTIONS)
    if len(compact) > PRETTY_JSON_LIMIT:
        return compact
    return orjson.dumps(data, default=_json_default, option=_JSON_OPTIONS | orjson.OPT_INDENT_2)


def dump_json(data: Any) -> str:
    """Exact JSON text: indented for reading, compact when the document is large (many points)."""
    return dump_json_bytes(data).decode()


def write_json(data: Any) -> None:
    """Print ``data`` as exact JSON and a newline, as bytes when stdout has a binary layer."""
    document = dump_json_bytes(data)
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:
        sys.stdout.write(document.decode() + "\n")
        return
    sys.stdout.flush()
    binary.write(document)
    binary.write(b"\n")
    binary.flush()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        # Six significant digits keep measurement resolution; money-sized numbers get commas.
        if abs(value) < 10_000:
            return f"{value:.6g}"
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def emit_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Print a list of records in the chosen format; ``headers`` relabel table columns."""
    cols = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    if fmt is OutputFormat.JSON:
        write_json(list(rows))
    elif fmt is OutputFormat.CSV:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(cols)
        for row in rows:
            plain = to_jsonable({c: row.get(c) for c in cols})
            writer.writerow(
                [
                    ""
                    if plain[c] is None
                    else _cell(plain[c])
                    if isinstance(plain[c], list)
                    else plain[c]
                    for c in cols
                ]
            )
        sys.stdout.write(buf.getvalue())
    else:
        table = Table(title=title, header_style="bold")
        labels = headers or {}
        for c in cols:
            numeric = any(
                isinstance(row.get(c), int | float) and not isinstance(row.get(c), bool)
                for row in rows
            )
            table.add_column(
                labels.get(c, c.replace("_", " ")), justify="right" if numeric else "left"
            )
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in cols))
        console.print(table)


def emit_record(record: Mapping[str, Any], fmt: OutputFormat, *, title: str | None = None) -> None:
    """Print one record: JSON as an object, CSV as one row, a table as field/value pairs."""
    if fmt is OutputFormat.JSON:
        write_json(record)
    elif fmt is OutputFormat.CSV:
        emit_rows([record], fmt)
    else:
        table = Table(title=title, show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for key, value in record.items():
            if isinstance(value, list | dict):
                continue
            table.add_row(key.replace("_", " "), _cell(value))
        console.print(table)
