"""Hand-made bad input on the pages: an error page in the site's style, never a 500."""

from __future__ import annotations

import httpx2
import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from phasegate.app import create_app
from phasegate.domain.errors import InvalidInput
from phasegate.store.uow import UnitOfWork
from phasegate.web.routes import LAST_PAGE, MAX_ID, MAX_SEARCH, _refuse_unstorable_text
from tests.adapters.web.conftest import Site, settings_for, signed_in_client

HX = {"HX-Request": "true"}
HUGE = "99999999999999999999"


def _error_page(response: httpx2.Response, status: int) -> str:
    """The site's error page with ``status`` (navigation included); its text."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert f'data-status="{status}"' in response.text and 'href="/"' in response.text
    return response.text


def _lists(site: Site) -> list[str]:
    build = site.data.pilot_build_id
    return [
        "/products/DRN/findings",
        "/products/DRN/feedback",
        f"/builds/{build}",
        f"/builds/{build}/units",
    ]


@pytest.mark.parametrize("page", [HUGE, "9223372036854775808", str(LAST_PAGE + 1)])
def test_a_huge_page_number_is_a_bad_request(client: TestClient, site: Site, page: str) -> None:
    for path in _lists(site):
        text = _error_page(client.get(f"{path}?page={page}", headers=HX), 400)
        assert "page" in text and page in text


def test_the_last_page_number_shows_an_empty_page(client: TestClient, site: Site) -> None:
    for path in _lists(site):
        assert client.get(f"{path}?page={LAST_PAGE}", headers=HX).status_code == 200
    build = client.get(f"/builds/{site.data.pilot_build_id}?page={LAST_PAGE}")
    assert build.status_code == 200 and 'data-serial="' not in build.text


@pytest.mark.parametrize("build_id", [HUGE, str(MAX_ID + 1), "9223372036854775808"])
def test_a_build_id_out_of_range_is_a_bad_request(client: TestClient, build_id: str) -> None:
    text = _error_page(client.get(f"/builds/{build_id}"), 400)
    assert "build_id" in text and str(MAX_ID) in text


def test_the_largest_build_id_is_simply_not_found(client: TestClient) -> None:
    text = _error_page(client.get(f"/builds/{MAX_ID}"), 404)
    assert f"Build {MAX_ID} does not exist" in text


@pytest.mark.parametrize(
    "written",
    [
        "%D9%A1",  # ARABIC-INDIC DIGIT ONE
        "%C2%B3",  # SUPERSCRIPT THREE
        "%EF%BC%91",  # FULLWIDTH DIGIT ONE
        "+1",
        "1_0",
        "%201",
        "0x1",
    ],
)
def test_numbers_in_urls_are_ascii_digits_only(
    client: TestClient, site: Site, written: str
) -> None:
    text = _error_page(client.get(f"/builds/{written}"), 400)
    assert "build_id" in text and "digits 0-9 only" in text
    build = site.data.pilot_build_id
    assert "digits 0-9 only" in _error_page(client.get(f"/builds/{build}?page={written}"), 400)
    feedback = client.get(f"/products/DRN/feedback?rating={written}")
    assert "rating" in _error_page(feedback, 400)


@pytest.mark.parametrize("bad", ["%00", "A%00B"])
def test_nul_bytes_in_the_query_are_a_bad_request(client: TestClient, site: Site, bad: str) -> None:
    build = site.data.pilot_build_id
    for path in (
        f"/?phase={bad}",
        f"/products/DRN/findings?severity={bad}",
        f"/products/DRN/findings?revision={bad}",
        f"/products/DRN/feedback?revision={bad}",
        f"/builds/{build}?q={bad}",
        f"/builds/{build}/units?status={bad}",
        f"/units?serial={bad}",
        f"/units/DRN-P1-0001?product={bad}",
    ):
        text = _error_page(client.get(path, headers=HX, follow_redirects=False), 400)
        assert "NUL" in text, path


@pytest.mark.parametrize(
    "path",
    ["/products/DRN%00", "/products/%00/findings", "/products/D%00/feedback", "/units/SN%00"],
)
def test_nul_bytes_in_the_path_are_a_bad_request(client: TestClient, path: str) -> None:
    assert "NUL" in _error_page(client.get(path), 400)


@pytest.mark.parametrize(
    ("where", "value"), [("path_params", {"serial": "SN\ud800"}), ("query_string", b"q=%00")]
)
def test_lone_surrogates_and_nul_bytes_are_refused(where: str, value: object) -> None:
    """UTF-8 in a URL cannot carry a lone surrogate, so the check is tried on the request."""
    scope = {"type": "http", "path_params": {}, "query_string": b"", "headers": [], where: value}
    with pytest.raises(InvalidInput, match="NUL bytes or lone surrogates"):
        _refuse_unstorable_text(Request(scope))


def test_a_surrogate_written_in_utf8_is_read_as_replacement_characters(
    client: TestClient, site: Site
) -> None:
    # %ED%A0%80 would be U+D800 in UTF-8; the URL decoder replaces it, so the search is harmless.
    r = client.get(f"/builds/{site.data.pilot_build_id}?q=%ED%A0%80")
    assert r.status_code == 200 and 'data-serial="' not in r.text


def test_search_text_is_bounded(client: TestClient, site: Site) -> None:
    build = site.data.pilot_build_id
    assert client.get(f"/builds/{build}?q={'7' * MAX_SEARCH}").status_code == 200
    text = _error_page(client.get(f"/builds/{build}?q={'7' * 50_001}"), 400)
    assert "invalid q" in text.lower()


def test_serial_search_ignores_case(client: TestClient, site: Site) -> None:
    serial = site.data.pilot_serial
    lookup = client.get(f"/units?serial=%20{serial.lower()}%20", follow_redirects=False)
    assert lookup.status_code == 303
    assert lookup.headers["location"] == f"/units/{serial.lower()}"  # passed through as typed
    page = client.get(lookup.headers["location"])
    assert page.status_code == 200 and serial in page.text
    mixed = serial[:2].lower() + serial[2:]
    assert client.get(f"/units/{mixed}").status_code == 200
    build = client.get(f"/builds/{site.data.pilot_build_id}?q={serial.lower()}")
    assert f'data-serial="{serial}"' in build.text


def test_an_unexpected_failure_gets_the_error_page(site: Site) -> None:
    def broken() -> UnitOfWork:
        raise RuntimeError("boom")

    url = site.engine.url.render_as_string(hide_password=False)
    app = create_app(settings_for(url), engine=site.engine)
    cookies = signed_in_client(app).cookies
    app.state.uow_factory = broken  # looking up the session fails now
    client = TestClient(app, raise_server_exceptions=False, cookies=cookies)
    text = _error_page(client.get("/"), 500)
    assert "boom" not in text and "Server error" in text
