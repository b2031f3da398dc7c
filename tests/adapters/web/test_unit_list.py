"""The build page's unit list, paged by serial: the links a reader follows (first, previous,
next, last), with filters and a search kept, in the whole page and in the HTMX table; old
numbered links still work, and hostile keys are a clear bad request or simply a page."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.adapters.web.conftest import Site

HX = {"HX-Request": "true"}
SERIALS = [f"DRN-P1-{i:04d}" for i in range(1, 121)]  # the pilot build's 120 units


def _serials(text: str) -> list[str]:
    return re.findall(r'<tr data-serial="([^"]+)"', text)


def _link(text: str, rel: str, attribute: str = "href") -> str | None:
    """The ``attribute`` of the pager link with ``rel``, or None when the pager has none."""
    found = re.search(rf'<a {attribute}="([^"]+)"[^>]*rel="{rel}"', text)
    if found is None:
        found = re.search(rf'<a href="[^"]+" {attribute}="([^"]+)"[^>]*rel="{rel}"', text)
    return html.unescape(found[1]) if found else None


def _pager(text: str) -> str:
    found = re.search(r'data-pager="units">\s*<span>([^<]*)</span>', text)
    assert found is not None
    return " ".join(found[1].split())


def test_pages_follow_by_serial_to_the_end_and_back(client: TestClient, site: Site) -> None:
    build = site.data.pilot_build_id
    first = client.get(f"/builds/{build}")
    assert _serials(first.text) == SERIALS[:50]
    assert _pager(first.text) == "Showing 1–50 of 120 units"
    assert _link(first.text, "prev") is None and _link(first.text, "first") is None
    next_url = _link(first.text, "next")
    assert next_url == f"/builds/{build}?after=DRN-P1-0050#units"

    second = client.get(next_url)
    assert _serials(second.text) == SERIALS[50:100]
    assert _pager(second.text) == "Showing 50 units, DRN-P1-0051 to DRN-P1-0100, of 120"
    third = client.get(_link(second.text, "next", "hx-get") or "", headers=HX)
    assert "<html" not in third.text and _serials(third.text) == SERIALS[100:]
    assert third.headers["HX-Push-Url"] == f"/builds/{build}?after=DRN-P1-0100"
    assert _link(third.text, "next") is None and _link(third.text, "last") is None

    back = client.get(_link(third.text, "prev", "hx-get") or "", headers=HX)
    assert _serials(back.text) == SERIALS[50:100]  # the 50 before DRN-P1-0101
    assert back.headers["HX-Push-Url"] == f"/builds/{build}?before=DRN-P1-0101"
    last = client.get(_link(first.text, "last") or "")
    assert _serials(last.text) == SERIALS[70:]
    assert _pager(last.text) == "Showing 71–120 of 120 units"
    start = client.get(_link(last.text, "first") or "")
    assert _serials(start.text) == SERIALS[:50]


def test_filters_and_search_stay_on_every_link(client: TestClient, site: Site) -> None:
    build = site.data.pilot_build_id
    r = client.get(f"/builds/{build}/units?q=p1-00&after=DRN-P1-0010", headers=HX)
    assert _serials(r.text) == SERIALS[10:60]  # DRN-P1-0011 .. 0060, of the 99 matching
    assert _pager(r.text) == "Showing 50 matching units, more on the next pages"
    assert _link(r.text, "next", "hx-get") == f"/builds/{build}/units?q=p1-00&after=DRN-P1-0060"
    assert _link(r.text, "prev", "hx-get") == f"/builds/{build}/units?q=p1-00&before=DRN-P1-0011"
    end = client.get(f"/builds/{build}/units?q=p1-00&after=DRN-P1-0060", headers=HX)
    assert _serials(end.text) == SERIALS[60:99] and _link(end.text, "next") is None
    assert _pager(end.text) == "Showing 39 matching units"

    status = client.get(f"/builds/{build}?status=passed")
    passed = _serials(status.text)
    last = client.get(_link(status.text, "last") or "")
    assert "status=passed" in (_link(last.text, "first") or "")
    tail = _serials(last.text)
    assert tail and set(tail).isdisjoint(passed[:1]) and tail == sorted(tail)


def test_old_numbered_links_and_the_direct_partial(client: TestClient, site: Site) -> None:
    build = site.data.pilot_build_id
    page3 = client.get(f"/builds/{build}?page=3")
    assert _serials(page3.text) == SERIALS[100:]
    assert _pager(page3.text) == "Showing 101–120 of 120 units"
    direct = client.get(f"/builds/{build}/units?status=passed&after=X-1", follow_redirects=False)
    assert direct.status_code == 303
    assert direct.headers["location"] == f"/builds/{build}?status=passed&after=X-1"
    last = client.get(f"/builds/{build}/units?last=1", follow_redirects=False)
    assert last.headers["location"] == f"/builds/{build}?last=1"


@pytest.mark.parametrize(
    "key", ["' OR 1=1 --", "%", "_", "DRN-P1-0050'; DROP TABLE units; --", "Ω", "zzz"]
)
def test_a_key_is_only_text(client: TestClient, site: Site, key: str) -> None:
    build = site.data.pilot_build_id
    after = client.get(f"/builds/{build}/units", params={"after": key}, headers=HX)
    before = client.get(f"/builds/{build}/units", params={"before": key}, headers=HX)
    assert after.status_code == before.status_code == 200
    expected_after = [s for s in SERIALS if s > key][:50]
    expected_before = [s for s in SERIALS if s < key][-50:]
    assert _serials(after.text) == expected_after
    assert _serials(before.text) == expected_before


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("after=" + "x" * 201, "after"),
        ("after=A&before=B", "before: cannot be given with after"),
        ("after=A&last=1", "last: cannot be given with after"),
        ("after=A&page=2", "offset: cannot be given with after"),
        ("last=maybe", "last"),
        ("before=%00", "before: must not contain nul bytes"),
    ],
)
def test_a_bad_key_is_a_bad_request_naming_it(
    client: TestClient, site: Site, query: str, message: str
) -> None:
    build = site.data.pilot_build_id
    for path in (f"/builds/{build}?{query}", f"/builds/{build}/units?{query}"):
        r = client.get(path, headers=HX)
        assert r.status_code == 400, path
        assert message in html.unescape(r.text).lower(), path
