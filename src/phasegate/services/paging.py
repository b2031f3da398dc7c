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
