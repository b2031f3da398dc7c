"""The API's list of units pages by cursor: each full page links the next one (``Link``,
``rel="next"``) with the filters kept, the pages join up to the whole list in order, the old
``offset`` still works, and a cursor that is not one is a 422/400 naming ``after``."""

from __future__ import annotations

import base64
import json
import re

import pytest
from fastapi.testclient import TestClient

from phasegate.domain.policy import SYSTEM, Role
from phasegate.services import identity
from phasegate.store.uow import UnitOfWork
from tests.adapters.web.conftest import Site
from tests.adapters.web.data import USERS

SERIALS = [f"DRN-P1-{i:04d}" for i in range(1, 121)]  # the pilot build's 120 units


@pytest.fixture(scope="module")
def api(site: Site) -> TestClient:
    _, token = identity.create_token(
        UnitOfWork.for_engine(site.engine),
        actor=SYSTEM,
        user=USERS[Role.VIEWER],
        scopes=["read"],
        name="unit list tests",
    )
    return TestClient(site.app, headers={"Authorization": f"Bearer {token}"})


def _next(response: object) -> str | None:
    link = response.headers.get("link")  # type: ignore[attr-defined]
    if link is None:
        return None
    found = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert found is not None, link
    return found[1]


def _serials(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [u["serial"] for u in body["items"]]


def test_cursor_pages_join_up_to_the_whole_list(api: TestClient, site: Site) -> None:
    build = site.data.pilot_build_id
    url: str | None = f"/api/v1/units?build_id={build}&limit=50"
    pages = []
    while url is not None:
        r = api.get(url)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 120
        pages.append(_serials(r))
        url = _next(r)
        if url is not None:
            assert f"build_id={build}" in url and "limit=50" in url and "after=" in url
    assert [len(p) for p in pages] == [50, 50, 20]
    assert [s for p in pages for s in p] == SERIALS
    by_offset = api.get(f"/api/v1/units?build_id={build}&limit=50&offset=50")
    assert _serials(by_offset) == SERIALS[50:100]


def test_the_cursor_keeps_filters_and_search(api: TestClient, site: Site) -> None:
    build = site.data.pilot_build_id
    first = api.get(f"/api/v1/units?build_id={build}&q=P1-01&limit=5")
    assert _serials(first) == SERIALS[99:104]  # DRN-P1-0100 ..
    second = api.get(_next(first) or "")
    assert _serials(second) == SERIALS[104:109] and "q=P1-01" in (_next(first) or "")


def _cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%",
        _cursor({"a": 1}),
        _cursor([1]),
        _cursor([1, "DRN", 3]),
        _cursor(["1", "DRN-P1-0001"]),
        _cursor([1, 2]),
        _cursor([2**70, "DRN"]),
        _cursor([-1, "DRN"]),
        _cursor([1, "a\u0000b"]),
        _cursor([None, "DRN"]),
        "x" * 401,
    ],
)
def test_a_bad_cursor_is_refused_naming_after(api: TestClient, site: Site, cursor: str) -> None:
    r = api.get("/api/v1/units", params={"after": cursor, "build_id": site.data.pilot_build_id})
    assert r.status_code in (400, 422), r.text
    assert "after" in json.dumps(r.json()["error"])


def test_after_and_offset_together_are_refused(api: TestClient, site: Site) -> None:
    r = api.get("/api/v1/units", params={"after": _cursor([1, "A"]), "offset": 50})
    assert r.status_code in (400, 422) and "after" in r.text
