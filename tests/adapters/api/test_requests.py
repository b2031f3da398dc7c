"""Requests the API refuses before any route reads them, in the error shape.

Regression tests for the issue's items on request size and the contract: a body over the size
limit is 413 however it is sent (a 100 MB text field was accepted), a body that is not JSON is
415, one that is not UTF-8 is 422 (it was an undocumented 400 `http_error`); a 405 lists every
method of the route in `Allow` (it listed only GET); no unknown path answers `{"detail": ...}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from phasegate.api.limits import RequestBodyCheck
from phasegate.config import Settings
from tests.adapters.api.support import assert_error

LIMIT = Settings().max_body_bytes
JSON = {"content-type": "application/json"}


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:
    """A 100 MB text field was accepted (and stored twice)."""
    payload = {"key": "BIG", "name": "Big", "description": "x" * LIMIT}
    assert_error(client.post("/products", json=payload), 413, "too_large")
    assert_error(client.get("/products/BIG"), 404, "not_found")


def test_a_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # sent chunked: no Content-Length to go by
        yield b'{"key": "BIG", "name": "Big", "description": "'
        for _ in range(LIMIT // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    assert_error(client.post("/products", content=chunks(), headers=JSON), 413, "too_large")
    assert_error(client.get("/products/BIG"), 404, "not_found")


def _send(chunks: list[bytes], limit: int) -> tuple[list[Message], bytes | None]:
    """Run the body check alone over ``chunks``; what it answered, and what the route got."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/products",
        "headers": [(b"content-type", b"application/json")],
        "app": SimpleNamespace(state=SimpleNamespace(settings=Settings(max_body_bytes=limit))),
    }
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks)
    ]
    answered: list[Message] = []
    received: list[bytes] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        answered.append(message)

    async def route(scope: Any, receive: Any, send: Any) -> None:
        received.append((await receive())["body"])

    asyncio.run(RequestBodyCheck(route)(scope, receive, send))
    return answered, received[0] if received else None


def test_the_limit_counts_the_bytes_that_arrive() -> None:
    answered, received = _send([b'{"a": "', b"x" * 6, b'"}'], limit=10)
    assert received is None
    assert answered[0]["status"] == 413
    assert json.loads(answered[1]["body"])["error"]["type"] == "too_large"
    answered, received = _send([b'{"a":', b' "xy"}'], limit=11)
    assert answered == []
    assert received == b'{"a": "xy"}'


def test_a_body_that_is_not_utf8_is_422(sqlite_client: TestClient) -> None:
    """An invalid UTF-8 body was an undocumented 400 `http_error`."""
    not_utf8 = b'{"key": "K", "name": "\xff"}'
    response = sqlite_client.post(
        "/products", content=not_utf8, headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_input", "body")
    latin1 = '{"key": "K", "name": "Müller"}'.encode("latin-1")
    response = sqlite_client.patch(
        "/products/K", content=latin1, headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_input", "body")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        None,
    ],
)
def test_a_body_that_is_not_json_is_415(
    sqlite_client: TestClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = b'{"key": "K", "name": "Kettle"}'
    response = sqlite_client.post("/products", content=body, headers=headers)
    assert_error(response, 415, "unsupported_media_type")
    response = sqlite_client.patch("/builds/1", content=body, headers=headers)
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=UTF-8", "application/merge-patch+json"],
)
def test_json_bodies_are_taken(sqlite_client: TestClient, content_type: str) -> None:
    body = b'{"key": "K", "name": "Kettle"}'
    response = sqlite_client.post("/products", content=body, headers={"content-type": content_type})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/products/1", "GET, PATCH"),
        ("PUT", "/builds/1", "GET, PATCH"),
        ("DELETE", "/builds", "GET, POST"),
        ("PATCH", "/products/AQM/gate-decisions", "GET"),
        ("POST", "/audit-events", "GET"),
    ],
)
def test_a_405_allows_every_method_of_the_route(
    sqlite_client: TestClient, method: str, path: str, allowed: str
) -> None:
    """A 405 listed only GET in `Allow` although PATCH exists."""
    response = sqlite_client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "TRACE", "FOO"])
@pytest.mark.parametrize(
    "path",
    ["/api", "/api/x", "/api/v1", "/api/v2/products", "/api/v1/x", "/api/v1/products/a%0Ab"],
)
def test_every_unknown_api_path_answers_the_error_shape(
    sqlite_client: TestClient, method: str, path: str
) -> None:
    """Some unknown paths answered `{"detail": ...}`: with a method other than the usual ones,
    or with a newline in the path (which a path pattern's ``.*`` does not match)."""
    assert_error(sqlite_client.request(method, f"http://testserver{path}"), 404, "not_found")
