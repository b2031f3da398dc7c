"""Case-insensitive text search that matches the same rows on SQLite and PostgreSQL.

PostgreSQL's ``lower()`` lowers every letter (under a UTF-8 locale such as C.UTF-8, one
character at a time); SQLite's built-in ``lower()`` lowers only ASCII. Searches therefore use
``unicode_lower``: on PostgreSQL it is ``lower()``, on SQLite a Python function of the same
behaviour, registered on every connection by ``register_sqlite_functions`` under a name of its
own (SQLite's ``lower`` stays as it is, since expression indexes are built with it).

``contains_text`` is the one search condition: the text is matched literally (``%``, ``_`` and
the escape character stand for themselves) and whatever its case.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SQLITE_LOWER = "phasegate_lower"


def lower_text(text: str | None) -> str | None:
    """``text`` in lower case, one character at a time, as PostgreSQL's ``lower()`` does.

    Python's ``str.lower`` maps a few characters by context or to two characters (a final
    capital sigma, a capital I with a dot); PostgreSQL maps each character to one character,
    so this does too. ``None`` stays ``None`` (SQL null).
    """
    if text is None or text.isascii():
        return None if text is None else text.lower()
    return "".join(char.lower()[:1] for char in text)


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Make ``unicode_lower`` callable on one SQLite connection (its connect hook calls this)."""
    dbapi_connection.create_function(SQLITE_LOWER, 1, lower_text, deterministic=True)


class unicode_lower(FunctionElement[str]):  # noqa: N801 (named like the SQL functions)
    """``lower()`` of a text that treats every letter alike on every backend."""

    type = String()
    name = "unicode_lower"
    inherit_cache = True


@compiles(unicode_lower)
def _lower(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _lower_on_sqlite(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def contains_text(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` holds ``text`` literally, whatever the case of either."""
    needle = lower_text(text) or ""
    return unicode_lower(column).contains(needle, autoescape=True)
