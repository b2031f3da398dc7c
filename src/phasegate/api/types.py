"""The value types of request input: each limit stated once, checked here, shown in the schema.

- ``text(max_length, not_blank=...)``: text a database can store. It holds no NUL character
  (PostgreSQL refuses one) and no lone surrogate (not Unicode: no encoding can store it), and is
  at most ``max_length`` characters long. Its OpenAPI schema says so with ``maxLength`` and a
  ``pattern``; a text that must not be blank (a required field: the services strip text and
  refuse what is left empty) has ``minLength: 1`` and a pattern that asks for a character that
  is not whitespace.
- ``RecordId``: ids are 32-bit integers; a larger number names no record.
- ``ascii_digits``: a number in a URL is written with the digits 0-9 only (no sign, no
  underscore, no digits of other scripts).
- ``MAX_OFFSET``, ``MAX_SEARCH``: the largest ``offset`` and the longest ``q`` of a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from phasegate.domain.text import unstorable_reason
from phasegate.services import paging

# Records are keyed by 32-bit integers (PostgreSQL's INTEGER); larger numbers name no record.
MAX_ID = paging.MAX_ID
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]

# The largest ``offset`` of a list: the services' bound, so the schema and the services agree.
MAX_OFFSET = paging.MAX_OFFSET
# The longest search text: ample for a word or a serial, short for every database's patterns.
MAX_SEARCH = paging.MAX_SEARCH

# The schema's patterns (ECMA-262 regular expressions, which Python's ``re`` reads alike).
NO_NUL = r"^[^\x00]*$"
# A character that is whitespace neither to ECMA-262's \s nor to Python's str.strip() (which
# also strips \x1c-\x1f and \x85): text that matches is never blank to the services.
NOT_BLANK = r"^[^\x00]*[^\s\x00\x1c-\x1f\x85][^\x00]*$"


def storable(value: str) -> str:
    """``value`` unchanged; an error when it holds a NUL character or a lone surrogate."""
    reason = unstorable_reason(value)
    if reason is not None:
        kind = "text_nul" if "\x00" in value else "text_surrogate"
        raise PydanticCustomError(kind, reason)
    return value


@dataclass(frozen=True, slots=True)
class StorableText:
    """Pydantic metadata: the text passes ``storable``; the schema states it as a pattern."""

    not_blank: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(storable, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        shown = handler(schema)
        shown["pattern"] = NOT_BLANK if self.not_blank else NO_NUL
        return shown


def text(max_length: int | None = None, *, not_blank: bool = False) -> Any:
    """The type of a text input of at most ``max_length`` characters (see the module doc)."""
    limits = Field(max_length=max_length, min_length=1 if not_blank else None)
    return Annotated[str, limits, StorableText(not_blank)]


def _ascii_digits(value: object) -> object:
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise PydanticCustomError("int_parsing", "must be written with the digits 0-9 only")
    return value


# Put after FastAPI's ``Path(...)`` in an ``Annotated`` id, so the schema keeps its limits.
ascii_digits = BeforeValidator(_ascii_digits)
