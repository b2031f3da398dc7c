"""The one page shape, page-size check and enum parsing that every list uses."""

from __future__ import annotations

import pytest

from phasegate.domain.enums import Severity
from phasegate.domain.errors import InvalidInput
from phasegate.services.paging import (
    MAX_KEY,
    MAX_OFFSET,
    MAX_PAGE,
    Page,
    Window,
    check_page,
    parse_enum,
    parse_optional_enum,
)


def test_page_arithmetic() -> None:
    page = Page(items=(1, 2), total=52, limit=25, offset=50)
    assert (page.number, page.page_count, page.has_next, page.has_previous) == (3, 3, False, True)
    assert (page.first_index, page.last_index) == (51, 52)
    middle = Page(items=tuple(range(25)), total=52, limit=25, offset=25)
    assert (middle.number, middle.has_next, middle.has_previous) == (2, True, True)
    empty = Page(items=(), total=0, limit=25, offset=0)
    assert (empty.page_count, empty.first_index, empty.last_index) == (1, 0, 0)
    assert not empty.has_next and not empty.has_previous


def test_page_limits() -> None:
    check_page(1, 0)
    check_page(MAX_PAGE, 10_000)
    with pytest.raises(InvalidInput, match=rf"limit: 0 is outside 1\.\.{MAX_PAGE}") as error:
        check_page(0, 0)
    assert error.value.fields[0].loc == "limit"
    with pytest.raises(InvalidInput, match="limit"):
        check_page(MAX_PAGE + 1, 0)
    with pytest.raises(InvalidInput, match=r"offset: -1 is outside 0\.\.2147483647"):
        check_page(10, -1)
    check_page(10, MAX_OFFSET)
    with pytest.raises(InvalidInput, match="offset: 2147483648 is outside"):
        check_page(10, MAX_OFFSET + 1)


def test_enum_values_are_parsed_or_listed() -> None:
    assert parse_enum(Severity, "severity", " Critical ") is Severity.CRITICAL
    assert parse_enum(Severity, "severity", Severity.MINOR) is Severity.MINOR
    assert parse_optional_enum(Severity, "severity", None) is None
    assert parse_optional_enum(Severity, "severity", "") is None
    with pytest.raises(
        InvalidInput, match="severity: 'huge' is not one of: critical, major, minor, cosmetic"
    ) as error:
        parse_optional_enum(Severity, "severity", "huge")
    assert error.value.fields[0].loc == "severity"


def test_a_window_takes_one_start_and_bounded_keys() -> None:
    assert not Window().backwards and Window(last=True).backwards
    assert Window(before="K").backwards and not Window(after="K").backwards
    assert Window(after="x" * MAX_KEY).after == "x" * MAX_KEY
    with pytest.raises(InvalidInput, match="after: must be 1 to 200 characters long"):
        Window(after="x" * (MAX_KEY + 1))
    with pytest.raises(InvalidInput, match="offset: cannot be given with last"):
        Window(last=True, offset=50)
    with pytest.raises(InvalidInput, match="offset: -1 is outside"):
        Window(offset=-1)
