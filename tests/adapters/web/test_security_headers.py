"""Every answer of the application carries the security headers: each route of its route table
(pages, API, API docs) with each of its methods, a static file, unknown paths and a server error,
on the pages' side and on the API's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Headers
from starlette.routing import BaseRoute, Mount, Route

from phasegate.app import create_app
from phasegate.domain.enums import PHASE_COLOURS, SEVERITY_COLOURS, UNIT_STATUS_COLOURS
from phasegate.store import db
from phasegate.web.rendering import STATIC_DIR
from phasegate.web.security import SECURITY_HEADERS
from tests.adapters.web.conftest import settings_for

PARAM = re.compile(r"{[^}]+}")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    """The application over an empty database: no request here can change shared data."""
    url = f"sqlite:///{tmp_path / 'headers.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    yield create_app(settings_for(url), engine=engine)
    engine.dispose()


def _requests(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) for every route and method, path parameters filled with ``1``."""
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, Mount) and route.routes:
            yield from _requests(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or {"GET"}):
                yield method, prefix + PARAM.sub("1", context.path)


def assert_secured(headers: Headers, what: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, f"{what}: {name}"


def test_every_route_answers_with_the_headers(app: FastAPI) -> None:
    requests = sorted(set(_requests(app.routes)))
    assert len(requests) > 50
    paths = {path for _, path in requests}
    assert {"/", "/api/v1/docs", "/api/v1/openapi.json", "/api/v1/products"} <= paths
    client = TestClient(app, raise_server_exceptions=False)
    for method, path in requests:
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        response = client.request(method, path, json=body)
        assert_secured(response.headers, f"{method} {path} ({response.status_code})")


@pytest.mark.parametrize(
    "path",
    [
        "/static/css/phasegate.css",
        "/static/js/swagger-ui-bundle.js",
        "/static/no-such-file.js",
        "/no/such/page",
        "/api/v1/no/such/path",
        "/api/v2",
        "/products/1?limit=nonsense",
    ],
)
def test_static_files_and_errors_answer_with_the_headers(app: FastAPI, path: str) -> None:
    response = TestClient(app).get(path)
    assert_secured(response.headers, f"{path} ({response.status_code})")


def test_a_server_error_answers_with_the_headers(app: FastAPI) -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/boom", boom)
    api = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "/api/v1")
    assert isinstance(api, FastAPI)
    api.add_api_route("/boom", boom)
    client = TestClient(app, raise_server_exceptions=False)
    for path in ("/boom", "/api/v1/boom"):
        response = client.get(path)
        assert response.status_code == 500
        assert_secured(response.headers, path)
    assert "Server error" in client.get("/boom").text  # the site's error page


def test_no_template_has_an_inline_script_or_style() -> None:
    """The policy forbids them; data for scripts travels in data-* attributes."""
    for template in (STATIC_DIR.parent / "templates").rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\sstyle=|<style", text), template.name
        assert not re.search(r"\son[a-z]+=", text), template.name


def test_tone_classes_have_the_colours_of_the_domain() -> None:
    """The pages colour phases, statuses and severities through classes (no style attributes):
    the stylesheet must keep the colours of domain/enums.py."""
    css = (STATIC_DIR / "css" / "phasegate.css").read_text()
    tables = {"phase": PHASE_COLOURS, "status": UNIT_STATUS_COLOURS, "severity": SEVERITY_COLOURS}
    for kind, colours in tables.items():
        for value, colour in colours.items():
            assert f".tone-{kind}-{value.value} {{ --c: {colour}; }}" in css, (kind, value)
