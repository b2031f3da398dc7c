"""What text the product can store: every database takes it, and it means what it shows."""

from __future__ import annotations


def unstorable_reason(text: str) -> str | None:
    """Why ``text`` cannot be stored, or ``None`` when it can.

    A NUL character is refused by PostgreSQL and cut short by C tools reading SQLite; a lone
    surrogate is not Unicode text and cannot be encoded as UTF-8.

    >>> unstorable_reason("Jürgen") is None
    True
    >>> unstorable_reason("a\\x00b")
    'must not contain a NUL character (\\\\u0000)'
    """
    if "\x00" in text:
        return "must not contain a NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "must be Unicode text; it holds a lone surrogate"
    return None


def storable(text: str) -> bool:
    """Whether ``text`` can be stored: no NUL character, no lone surrogate."""
    return unstorable_reason(text) is None
