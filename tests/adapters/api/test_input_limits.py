"""Bad input is a 4xx in the error shape, never a 500, on SQLite and PostgreSQL.

Regression tests for the issue's items on ids in paths, text and the other 500s: ids in URLs
are ASCII digits within the 32-bit range; text holds no NUL character or lone surrogate and is
no longer than its column; ``offset`` and ``q`` are bounded. (The size of a request:
``test_requests.py``.)
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from phasegate.api.types import MAX_OFFSET, MAX_SEARCH
from phasegate.services.crud import TEXT_MAX_LENGTH
from tests.adapters.api.support import World, assert_error, make_world

JSON = {"content-type": "application/json"}


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


# --- ids in paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["%D9%A1", "%C2%B3", "+1", "1_0", "%201", "1.0", "0x1"])
def test_a_path_id_is_ascii_digits(client: TestClient, world: World, written: str) -> None:
    """`/builds/١` (an Arabic-Indic one) named build 1; `/builds/³` was a 500."""
    assert_error(client.get(f"/builds/{written}"), 422, "invalid_input", "id")
    assert_error(client.patch(f"/units/{written}", json={}), 422, "invalid_input", "id")
    assert_error(client.get(f"/lines/{written}/stations"), 422, "invalid_input", "id")


@pytest.mark.parametrize("written", ["%D9%A1", "%C2%B3"])
def test_a_product_ref_of_other_digits_names_no_product(
    client: TestClient, world: World, written: str
) -> None:
    assert_error(client.get(f"/products/{written}"), 404, "not_found")
    assert_error(client.get(f"/products/{written}/gate-decisions"), 404, "not_found")


@pytest.mark.parametrize("number", ["99999999999999999999", "9223372036854775808", "2147483648"])
def test_numbers_beyond_the_id_range_are_422(client: TestClient, number: str) -> None:
    """`/builds/99999999999999999999` was a plain-text 500 page."""
    assert_error(client.get(f"/builds/{number}"), 422, "invalid_input", "id")
    assert_error(client.get("/builds", params={"revision_id": number}), 422, "invalid_input")
    assert_error(client.get("/audit-events", params={"entity_id": number}), 422, "invalid_input")
    assert_error(client.get(f"/products/{number}"), 404, "not_found")


def test_a_text_longer_than_its_column_is_422(client: TestClient, world: World) -> None:
    long_text = {"description": "x" * (TEXT_MAX_LENGTH + 1)}
    url = f"/findings/{world.finding}"
    assert_error(client.patch(url, json=long_text), 422, "invalid_input", "description")
    assert client.patch(url, json={"description": "x" * TEXT_MAX_LENGTH}).status_code == 200
    long_name = {"key": "LONG", "name": "x" * 201}
    assert_error(client.post("/products", json=long_name), 422, "invalid_input", "name")


# --- text a database cannot store -----------------------------------------------------------


def test_a_nul_character_is_422_everywhere(client: TestClient, world: World) -> None:
    """A NUL byte in any text, path or query was a 500 on PostgreSQL."""
    body = {"key": "NUL", "name": "a\x00b"}
    assert_error(client.post("/products", json=body), 422, "invalid_input", "name")
    patch = {"owner": "\x00"}
    assert_error(client.patch(f"/findings/{world.finding}", json=patch), 422, "invalid_input")
    assert_error(client.get("/products/A%00B"), 422, "invalid_input", "ref")
    for params in ({"q": "a\x00"}, {"key": "\x00"}):
        assert_error(client.get("/products", params=params), 422, "invalid_input")
    assert_error(client.get("/builds", params={"product": "\x00"}), 422, "invalid_input")
    assert_error(client.get("/audit-events", params={"actor": "\x00"}), 422, "invalid_input")
    review = client.post("/products/AQM/gates/pilot/reviews").json()
    decision = {"outcome": "no_go", "rationale": "\x00"}
    response = client.post(f"/gate-reviews/{review['id']}/decision", json=decision)
    assert_error(response, 422, "invalid_input", "rationale")
    assert client.get("/products/AQM/gate-decisions").json() == []


def test_a_lone_surrogate_is_422(client: TestClient, world: World) -> None:
    """JSON may escape half of a surrogate pair; no database can store it."""
    raw = b'{"key": "SUR", "name": "a\\ud800b"}'
    response = client.post("/products", content=raw, headers=JSON)
    assert_error(response, 422, "invalid_input", "name")
    review = client.post("/products/AQM/gates/pilot/reviews").json()
    raw = b'{"outcome": "no_go", "rationale": "\\udfff"}'
    response = client.post(f"/gate-reviews/{review['id']}/decision", content=raw, headers=JSON)
    assert_error(response, 422, "invalid_input", "rationale")
    paired = b'{"key": "EMOJI", "name": "\\ud83d\\ude00"}'  # a whole pair is one character
    assert client.post("/products", content=paired, headers=JSON).status_code == 201


# --- paging and search bounds ---------------------------------------------------------------


@pytest.mark.parametrize("offset", ["9223372036854775808", str(MAX_OFFSET + 1), "-1"])
def test_offset_is_bounded(client: TestClient, offset: str) -> None:
    """`?offset=9223372036854775808` was a 500."""
    assert_error(client.get("/products", params={"offset": offset}), 422, "invalid_input", "offset")
    assert_error(
        client.get("/audit-events", params={"offset": offset}), 422, "invalid_input", "offset"
    )
    assert_error(
        client.get("/lines/1/stations", params={"offset": offset}), 422, "invalid_input", "offset"
    )


def test_the_largest_offset_is_an_empty_page(client: TestClient) -> None:
    page = client.get("/products", params={"offset": MAX_OFFSET, "limit": 500})
    assert page.status_code == 200, page.text
    assert page.json()["items"] == []


def test_search_text_is_bounded(client: TestClient) -> None:
    """A 50,001-character `q` was a 500 on SQLite ("LIKE or GLOB pattern too complex")."""
    for length in (MAX_SEARCH + 1, 50_001):
        response = client.get("/products", params={"q": "a" * length})
        assert_error(response, 422, "invalid_input", "q")
    assert client.get("/products", params={"q": "%_" * (MAX_SEARCH // 2)}).status_code == 200
