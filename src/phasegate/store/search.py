"""Case-insensitive text search that matches the same rows on SQLite and PostgreSQL.

PostgreSQL's ``lower()`` lowers every letter (under a UTF-8 locale such as C.UTF-8, one
character at a time); SQLite's built-in ``lower()`` lowers only ASCII. Searches therefore use
``unicode_lower``: on PostgreSQL it is ``lower()``, on SQLite a Python function of the same
behaviour, registered on every connection by ``register_sqlite_functions`` under a name of its
own (SQLite's ``lower`` stays as it is, since expression indexes are built with it).

``contains_text`` is the one search condition: the text is matched literally (``%``, ``_`` and
the escape character stand for themselves) and whatever its case. On PostgreSQL it is
``lower(column) LIKE '%text%'``, which a trigram index on ``lower(column)`` serves (the serials
have one, migration ``0011_unit_counts``). On SQLite, whose ``LIKE`` already ignores the case of
ASCII letters, a value is matched by ``LIKE`` in the database's own C code, and only a value
with characters beyond ASCII that ``LIKE`` did not match goes through ``unicode_lower`` too: the
same rows, at the cost of a scan of an index rather than a call of Python per row. (A serial
search on SQLite reads the build's serial index from end to end when few units match: it grows
with the build, tens of milliseconds per 100,000 units.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, String, literal
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


ESCAPE = "/"


def like_pattern(text: str) -> str:
    """``%text%`` in lower case, its ``%``, ``_`` and ``/`` escaped with ``/``."""
    needle = lower_text(text) or ""
    for char in (ESCAPE, "%", "_"):
        needle = needle.replace(char, ESCAPE + char)
    return f"%{needle}%"


class contains_folded(FunctionElement[bool]):  # noqa: N801 (named like the SQL functions)
    """``contains_folded(column, pattern)``: the lower-case ``column`` is ``LIKE pattern``."""

    type = Boolean()
    name = "contains_folded"
    inherit_cache = True


@compiles(contains_folded)
def _contains(element: contains_folded, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"lower({column}) LIKE {pattern} ESCAPE '{ESCAPE}'"


@compiles(contains_folded, "sqlite")
def _contains_on_sqlite(element: contains_folded, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern = (compiler.process(c, **kw) for c in element.clauses)
    like = f"LIKE {pattern} ESCAPE '{ESCAPE}'"
    # More bytes than characters: a character beyond ASCII, whose case only unicode_lower folds.
    beyond_ascii = f"length({column}) <> length(CAST({column} AS BLOB))"
    return f"({column} {like} OR ({beyond_ascii} AND {SQLITE_LOWER}({column}) {like}))"


class identifier_contains(FunctionElement[bool]):  # noqa: N801 (named like the SQL functions)
    """``identifier_contains(column, pattern)``: like ``contains_folded`` for a column of
    printable ASCII alone (keys, codes, serials: the record services refuse anything else), so
    SQLite's ``LIKE``, which folds the case of ASCII letters, decides it alone."""

    type = Boolean()
    name = "identifier_contains"
    inherit_cache = True


@compiles(identifier_contains)
def _identifier(element: identifier_contains, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"lower({column}) LIKE {pattern} ESCAPE '{ESCAPE}'"


@compiles(identifier_contains, "sqlite")
def _identifier_on_sqlite(element: identifier_contains, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"{column} LIKE {pattern} ESCAPE '{ESCAPE}'"


def identifier_contains_text(column: Any, text: str) -> ColumnElement[bool]:
    """The identifier ``column`` (printable ASCII) holds ``text`` literally, whatever the case;
    on PostgreSQL served by a trigram index on lower(column), on SQLite by LIKE in C alone."""
    return identifier_contains(column, literal(like_pattern(text), String()))


def contains_text(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` holds ``text`` literally, whatever the case of either."""
    return contains_folded(column, literal(like_pattern(text), String()))
