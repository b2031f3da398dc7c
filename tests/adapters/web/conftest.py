"""The real application over demo-like data, in-process and on a live port.

Every page test runs twice: over a SQLite file and over a PostgreSQL database of its own.

Browser tests drive Debian's Chromium at ``/usr/bin/chromium``; nothing downloads a browser.
Without it they are skipped with the reason, except in CI (``CI=true``), where that fails.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from phasegate.app import create_app
from phasegate.config import Settings
from phasegate.domain.policy import Role
from phasegate.store import db
from tests.adapters.web.data import PASSWORD, USERS, WebData, populate
from tests.conftest import new_postgres_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
SECRET = "web-tests-secret-key-0123456789abcdefghij"


def settings_for(url: str, **more: Any) -> Settings:
    return Settings(database_url=url, secret_key=SECRET, **more)


def csrf_token(client: TestClient) -> str:
    """The CSRF token of ``client``'s cookie, fetching the sign-in page first if it has none."""
    if client.cookies.get("csrftoken") is None:
        client.get("/login")
    token = client.cookies.get("csrftoken")
    assert token, "the sign-in page set no csrftoken cookie"
    return token


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> httpx2.Response:
    """Sign ``client`` in through the sign-in form; the answer (a 303 when it worked)."""
    data = {"csrftoken": csrf_token(client), "name": name, "password": password}
    return client.post("/login", data=data, follow_redirects=False)


def signed_in_client(app: FastAPI, role: Role = Role.ADMIN) -> TestClient:
    client = TestClient(app)
    answer = sign_in(client, USERS[role])
    assert answer.status_code == 303, answer.text
    return client


def sign_in_tab(tab: Any, live_url: str, role: Role) -> None:
    """Sign a browser tab in as the test user of ``role``, through the sign-in page."""
    tab.goto(f"{live_url}/login", wait_until="domcontentloaded")
    tab.fill("input[name=name]", USERS[role])
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form.auth-form button[type=submit]")
    tab.wait_for_url(f"{live_url}/")


@dataclass(frozen=True)
class Site:
    engine: Engine
    data: WebData
    app: FastAPI


@contextmanager
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a new, empty database on ``backend`` (``sqlite`` or ``postgresql``)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
        return
    with new_postgres_database("phasegate_web") as url:
        yield url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    with database_url(request.param, tmp_path_factory) as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        data = populate(engine)
        yield Site(engine, data, create_app(settings_for(url), engine=engine))
        engine.dispose()


@pytest.fixture(scope="module")
def client(site: Site) -> TestClient:
    """A browser signed in as the test administrator."""
    return signed_in_client(site.app)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread on a free local port; yield its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_url(site: Site) -> Iterator[str]:
    yield from serve(site.app)


@contextmanager
def watched_tab(browser: Any, live_url: str, *, init_script: str | None = None) -> Iterator[Any]:
    """A new tab that collects page errors and console errors in ``tab.problems``.

    When the block ends, every request the tab made must have gone to ``live_url``'s server:
    the pages work offline.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    if init_script is not None:
        context.add_init_script(init_script)
    tab = context.new_page()
    problems: list[str] = []
    hosts: set[str] = set()
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    tab.on("request", lambda request: hosts.add(urlparse(request.url).netloc))
    tab.problems = problems
    yield tab
    context.close()
    assert hosts <= {urlparse(live_url).netloc}, hosts


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM} (install Debian's chromium package)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests need Chromium in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
