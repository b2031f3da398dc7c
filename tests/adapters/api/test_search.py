"""Text search on SQLite and PostgreSQL: `q` is matched literally and whatever its case.

Issue: "`%` and `_` in `q` act as wildcards; on SQLite non-ASCII text is matched
case-sensitively while PostgreSQL matches it case-insensitively."
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.adapters.api.support import created

NAMES = [
    "100% cotton",
    "100 cotton",
    "a_b",
    "axb",
    "back\\slash",
    "ÄRGER im Büro",
    "Straße",
    "ΣΟΦΙΑ",
    "ÉLAN",
]


@pytest.fixture
def names(client: TestClient) -> list[str]:
    for n, name in enumerate(NAMES):
        created(client, "/products", {"key": f"P-{n}", "name": name})
    return NAMES


def _found(client: TestClient, q: str) -> list[str]:
    response = client.get("/products", params={"q": q, "limit": 500})
    assert response.status_code == 200, response.text
    return sorted(p["name"] for p in response.json()["items"])


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("0%", ["100% cotton"]),
        ("%", ["100% cotton"]),
        ("a_b", ["a_b"]),
        ("_", ["a_b"]),
        ("k\\s", ["back\\slash"]),
        ("/", []),
    ],
)
def test_wildcards_are_matched_literally(
    client: TestClient, names: list[str], q: str, expected: list[str]
) -> None:
    assert _found(client, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ärger", ["ÄRGER im Büro"]),
        ("BÜRO", ["ÄRGER im Büro"]),
        ("STRAßE", ["Straße"]),
        ("σοφια", ["ΣΟΦΙΑ"]),
        ("Élan", ["ÉLAN"]),
        ("COTTON", ["100 cotton", "100% cotton"]),
    ],
)
def test_case_is_ignored_for_every_letter_on_both_backends(
    client: TestClient, names: list[str], q: str, expected: list[str]
) -> None:
    assert _found(client, q) == expected


def test_a_blank_search_finds_everything(client: TestClient, names: list[str]) -> None:
    assert _found(client, " ") == sorted(NAMES)
