"""Optimistic concurrency over HTTP: a record's ``ETag`` and the ``If-Match`` of a change.

Every stored record has a ``version``: 1 when created, one more with every change. Its entity
tag is the strong ETag ``"<id>.<version>"`` (``"7.3"``: record 7 at version 3); the response of
every route that returns one record (read, create, update) carries it. A ``PATCH`` with
``If-Match`` is applied only to the version the header names (RFC 9110, section 13.1.1):
``*`` matches any existing record; a list of tags matches when one of them is, by strong
comparison, the record's current tag (a weak tag, ``W/"..."``, never matches). Otherwise the
answer is 412 ``precondition_failed`` and nothing changes. The check is repeated where the
change is written, so of two changes made against the same version only the first applies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header, Response

from phasegate.domain.errors import FieldError, PreconditionFailed

IF_MATCH = "If-Match"
# ``*``, or a comma-separated list of entity tags, each ``"..."`` or ``W/"..."``.
IF_MATCH_PATTERN = r'^\s*(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)\s*$'
_TAG = re.compile(r'(W/)?"([^"]*)"')

IfMatch = Annotated[
    str | None,
    Header(
        alias=IF_MATCH,
        pattern=IF_MATCH_PATTERN,
        description="Apply the change only to this version of the record: its `ETag` (e.g. "
        '`"7.3"`), a list of them, or `*`. A record at another version answers 412.',
    ),
]

# How a response documents the header, for the OpenAPI document.
ETAG_HEADER = {
    "ETag": {
        "description": 'The version of the record, e.g. `"7.3"` (record 7 at version 3); send it '
        "back in `If-Match` to change only this version.",
        "schema": {"type": "string"},
    }
}


def etag(record: Any) -> str:
    """The strong entity tag of a stored record: ``"<id>.<version>"``."""
    return f'"{record.id}.{record.version}"'


def tag_response(response: Response, record: Any) -> None:
    """Put the record's ``ETag`` on the response."""
    response.headers["ETag"] = etag(record)


@dataclass(frozen=True, slots=True)
class EntityTag:
    opaque: str  # with its quotes
    weak: bool


def parse_if_match(value: str) -> list[EntityTag] | None:
    """The tags an ``If-Match`` value lists; ``None`` for ``*`` (any current version).

    The value has been checked against ``IF_MATCH_PATTERN``.
    """
    if value.strip() == "*":
        return None
    return [EntityTag(f'"{m.group(2)}"', weak=bool(m.group(1))) for m in _TAG.finditer(value)]


def expected_version(if_match: str | None, record: Any) -> int | None:
    """The version a change must be made against, from the request's ``If-Match``.

    ``None`` when there is no condition (no header, or ``*`` for a record that exists);
    the record's version when one of the tags matches it; ``PreconditionFailed`` otherwise.
    """
    if if_match is None:
        return None
    tags = parse_if_match(if_match)
    if tags is None:
        return None
    current = etag(record)
    if any(not tag.weak and tag.opaque == current for tag in tags):
        return int(record.version)
    raise PreconditionFailed(
        f"If-Match {if_match.strip()} does not name the current version {current}; "
        "read the record again",
        [FieldError(IF_MATCH, f"the current ETag is {current}")],
    )


@contextmanager
def stale_if_match() -> Iterator[None]:
    """A version found stale where the change is written is the request's ``If-Match``."""
    try:
        yield
    except PreconditionFailed as error:
        fields = [FieldError(IF_MATCH, field.message) for field in error.fields]
        raise PreconditionFailed(error.message, fields) from error
