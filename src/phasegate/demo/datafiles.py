"""Read the demo's TOML data files (``demo/data/``) into records, with keyword arguments.

``record(PartnerRec, table, where)`` checks the table's keys against the record's fields (a
field with a default may be left out), converts each value to the field's type and returns
``PartnerRec(**values)``. Conversions: enums from their values, whole numbers to ``float``
where the field is a float, arrays to tuples, tables to nested records or to dicts. TOML
dates, times and offset datetimes arrive as ``datetime`` objects already.

A missing or unknown key, or a value of the wrong type, raises ``DemoDataError`` naming the
file, the entry and the key, e.g. ``demo/data/lines.toml, lines[1] (Northbridge Line 5),
stations[2]: missing key 'equipment'``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import tomllib
import types
import typing
from collections.abc import Collection, Mapping
from importlib import resources
from typing import Any, TypeVar

R = TypeVar("R")

_FOLDER = "data"
_SHOWN = "demo/data"


class DemoDataError(ValueError):
    """A demo data file does not describe what its reader expects."""


def read(name: str, *, keys: Collection[str] | None = None) -> dict[str, Any]:
    """The parsed TOML file ``demo/data/<name>``; with ``keys``, no other top-level keys."""
    path = resources.files("phasegate.demo").joinpath(_FOLDER, *name.split("/"))
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DemoDataError(f"{where(name)}: the file is missing") from None
    except tomllib.TOMLDecodeError as error:
        raise DemoDataError(f"{where(name)}: {error}") from None
    unknown = sorted(document.keys() - set(keys)) if keys is not None else []
    if keys is not None and unknown:
        raise DemoDataError(
            f"{where(name)}: unknown key {unknown[0]!r} (expected: {', '.join(keys)})"
        )
    return document


def where(name: str) -> str:
    """How errors name the file ``demo/data/<name>``."""
    return f"{_SHOWN}/{name}"


def entries(document: Mapping[str, Any], key: str, place: str) -> list[tuple[dict[str, Any], str]]:
    """The tables of the array ``key``, each with the name errors give it.

    An entry is named by its position and, when it has one, its name, code, key or ref.
    """
    items = document.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise DemoDataError(f"{place}: {key} must be an array of tables ([[{key}]])")
    return [(item, f"{place}, {key}[{i}]{_label(item)}") for i, item in enumerate(items)]


def table(document: Mapping[str, Any], key: str, place: str) -> dict[str, Any]:
    """The table ``key`` of ``document``; ``DemoDataError`` when it is missing."""
    value = document.get(key)
    if not isinstance(value, dict):
        raise DemoDataError(f"{place}: missing table [{key}]")
    return value


def split(entry: Mapping[str, Any], *keys: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``entry`` without ``keys``, and the part with them (for a record made of two)."""
    rest = {k: v for k, v in entry.items() if k not in keys}
    part = {k: v for k, v in entry.items() if k in keys}
    return rest, part


def record(cls: type[R], entry: Mapping[str, Any], place: str, **given: Any) -> R:
    """``cls(**entry, **given)`` with the keys checked and the values converted.

    ``given`` fills fields the file does not state (e.g. the product of a product file);
    the entry must not state them.
    """
    if not isinstance(entry, Mapping):
        raise DemoDataError(f"{place}: expected a table, got {entry!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    allowed = fields.keys() - given.keys()
    unknown = sorted(entry.keys() - allowed)
    if unknown:
        raise DemoDataError(
            f"{place}: unknown key {unknown[0]!r} (expected: {', '.join(sorted(allowed))})"
        )
    missing = [name for name in allowed if _required(fields[name]) and name not in entry]
    if missing:
        raise DemoDataError(f"{place}: missing key {sorted(missing)[0]!r}")
    hints = _hints(cls)
    values = {
        name: _convert(hints[name], value, f"{place}, {name}") for name, value in entry.items()
    }
    return cls(**values, **given)


def _label(entry: Mapping[str, Any]) -> str:
    for key in ("name", "code", "key", "ref"):
        if isinstance(entry.get(key), str):
            return f" ({entry[key]})"
    return ""


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """The resolved field types of ``cls`` (its annotations are strings)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _convert(hint: Any, value: Any, place: str) -> Any:
    """``value`` as the type ``hint`` names; ``DemoDataError`` naming ``place`` when it is not."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        # TOML has no null: an optional field is either left out or given a value.
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _convert(inner, value, place)
    if origin is tuple:
        return _convert_tuple(hint, value, place)
    if origin is dict:
        return _convert_dict(hint, value, place)
    if dataclasses.is_dataclass(hint):
        return record(hint, value, place)  # type: ignore[arg-type]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _convert_enum(hint, value, place)
    return _convert_plain(hint, value, place)


def _convert_tuple(hint: Any, value: Any, place: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise DemoDataError(f"{place}: expected an array, got {value!r}")
    inner, _ = typing.get_args(hint)  # tuple[X, ...]
    return tuple(_convert(inner, item, f"{place}[{i}]") for i, item in enumerate(value))


def _convert_dict(hint: Any, value: Any, place: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DemoDataError(f"{place}: expected a table, got {value!r}")
    _, inner = typing.get_args(hint)  # dict[str, X]
    return {key: _convert(inner, item, f"{place}.{key}") for key, item in value.items()}


def _convert_enum(hint: type[enum.Enum], value: Any, place: str) -> enum.Enum:
    try:
        return hint(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in hint)
        raise DemoDataError(f"{place}: {value!r} is not one of: {allowed}") from None


def _convert_plain(hint: Any, value: Any, place: str) -> Any:
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is dt.date and isinstance(value, dt.datetime):
        raise DemoDataError(f"{place}: expected a date, got the datetime {value.isoformat()}")
    if hint is dt.datetime and isinstance(value, dt.datetime) and value.tzinfo is None:
        raise DemoDataError(f"{place}: {value.isoformat()} needs a UTC offset (e.g. Z)")
    if hint is int and isinstance(value, bool):
        raise DemoDataError(f"{place}: expected a whole number, got {value!r}")
    if not isinstance(hint, type) or not isinstance(value, hint):
        expected = getattr(hint, "__name__", str(hint))
        raise DemoDataError(f"{place}: expected {expected}, got {value!r}")
    return value
