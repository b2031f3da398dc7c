"""Paging and parameter parsing shared by every list the services return.

One ``Page`` shape for every list (records from ``crud``, rows of the read models, audit
events), one largest page size, one check of ``limit``/``offset`` and one way to read an enum
value given as text, so every adapter reports the same errors the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from phasegate.domain.errors import invalid

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

MAX_PAGE = 500
# Records are keyed by 32-bit integer columns: a larger id names no record.
MAX_ID = 2**31 - 1
# No list holds more records than there are ids; both databases take any offset up to this.
MAX_OFFSET = MAX_ID
# The longest search text: ample for a word or a serial, short enough for SQLite's patterns.
MAX_SEARCH = 200


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a longer list: ``items`` from ``offset``, ``total`` matching in all."""

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int

    @property
    def number(self) -> int:
        """1-based number of this page."""
        return self.offset // self.limit + 1

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / self.limit))

    @property
    def first_index(self) -> int:
        """1-based position of the first item shown (0 when the page is empty)."""
        return self.offset + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.offset + len(self.items)

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


def check_page(limit: int, offset: int) -> None:
    """``InvalidInput`` unless ``1 <= limit <= MAX_PAGE`` and ``0 <= offset <= MAX_OFFSET``."""
    if not 1 <= limit <= MAX_PAGE:
        raise invalid("limit", f"{limit} is outside 1..{MAX_PAGE}")
    if not 0 <= offset <= MAX_OFFSET:
        raise invalid("offset", f"{offset} is outside 0..{MAX_OFFSET}")


def parse_enum(enum: type[E], name: str, raw: object) -> E:
    """The member of ``enum`` whose value ``raw`` names (case and spaces ignored).

    ``InvalidInput`` for parameter ``name`` lists the allowed values otherwise.
    """
    if isinstance(raw, enum):
        return raw
    try:
        return enum(str(raw).strip().lower())
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise invalid(name, f"{raw!r} is not one of: {allowed}") from None


def parse_optional_enum(enum: type[E], name: str, raw: object) -> E | None:
    """Like ``parse_enum``, but ``None`` or an empty string mean "not given"."""
    if raw is None or raw == "":
        return None
    return parse_enum(enum, name, raw)


@dataclass(frozen=True, slots=True)
class Window:
    """Where a keyset page starts: after or before a key, the last page, or (for the old
    numbered links) an offset. The first page is ``Window()``."""

    after: str | None = None
    before: str | None = None
    last: bool = False
    offset: int = 0

    def __post_init__(self) -> None:
        given = [
            name
            for name, on in (
                ("after", self.after is not None),
                ("before", self.before is not None),
                ("last", self.last),
                ("offset", self.offset > 0),
            )
            if on
        ]
        if len(given) > 1:
            raise invalid(given[1], f"cannot be given with {given[0]}")
        for name, key in (("after", self.after), ("before", self.before)):
            if key is not None and not 0 < len(key) <= MAX_KEY:
                raise invalid(name, f"must be 1 to {MAX_KEY} characters long")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise invalid("offset", f"{self.offset} is outside 0..{MAX_OFFSET}")

    @property
    def backwards(self) -> bool:
        """The page is read from its end (before a key, or the last page)."""
        return self.before is not None or self.last


# The longest key of a keyset page: a serial or a code is far shorter.
MAX_KEY = 200


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[T]):
    """One page of a list in key order, reached by key rather than by position.

    ``total`` is how many match in all when that is known without counting (``None`` for a
    search); ``next_key`` / ``previous_key`` are the keys the next and previous pages start
    after and before (``None`` at either end); ``start`` is the 1-based position of the first
    item where it is known without counting (the first page, a page at an offset, the last page
    of a counted list), else ``None``."""

    items: tuple[T, ...]
    limit: int
    total: int | None
    next_key: str | None
    previous_key: str | None
    start: int | None = None

    @property
    def end(self) -> int | None:
        """1-based position of the last item shown, when ``start`` is known."""
        return None if self.start is None else self.start + len(self.items) - 1

    @property
    def has_next(self) -> bool:
        return self.next_key is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_key is not None
