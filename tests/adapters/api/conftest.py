"""The whole application over a real database, driven through ``TestClient`` at ``/api/v1``.

``client`` runs each test on a SQLite file and on PostgreSQL: one application per backend for
the session, over a database migrated once (PostgreSQL's is a database of its own, created for
the session and dropped after it) and emptied before each test. When PostgreSQL cannot be
reached its tests are skipped with the reason, except in CI (``CI=true``), where that fails.
After emptying the database, the fixtures create an admin user and send a token of every scope
with each request (``support.sign_in_as_admin``); the tests of authentication and permissions
make other users and tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from phasegate.app import create_app
from phasegate.config import Settings
from phasegate.store import db
from tests.adapters.api.support import SECRET_KEY, sign_in_as_admin
from tests.conftest import new_postgres_database


@pytest.fixture(scope="session")
def migrated_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file that lives for the session."""
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def migrated_postgres_url() -> Iterator[str]:
    """A uniquely named, migrated PostgreSQL database that lives for the session."""
    with new_postgres_database("phasegate_api") as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        engine.dispose()
        yield url


@contextmanager
def running_app(url: str) -> Iterator[tuple[TestClient, Engine]]:
    """The whole application from the composition root, on the database at ``url``."""
    engine = db.make_engine(url)
    settings = Settings(database_url=url, secret_key=SECRET_KEY)
    app = create_app(settings, engine=engine)
    with TestClient(app, base_url="http://testserver/api/v1") as test_client:
        yield test_client, engine
    engine.dispose()


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def backend_app(request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, Engine]]:
    """One application per backend for the session."""
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    with running_app(request.getfixturevalue(fixture)) as app:
        yield app


@pytest.fixture
def client(backend_app: tuple[TestClient, Engine]) -> TestClient:
    """The API over an empty database, on SQLite and on PostgreSQL, as an admin with a token of
    every scope; paths are relative to ``/api/v1``."""
    test_client, engine = backend_app
    db.empty_database(engine)
    sign_in_as_admin(test_client)
    return test_client


@pytest.fixture(scope="session")
def sqlite_app(migrated_sqlite_url: str) -> Iterator[tuple[TestClient, Engine]]:
    with running_app(migrated_sqlite_url) as app:
        yield app


@pytest.fixture
def sqlite_client(sqlite_app: tuple[TestClient, Engine]) -> TestClient:
    """The API over an empty SQLite database, for tests that do not depend on the backend."""
    test_client, engine = sqlite_app
    db.empty_database(engine)
    sign_in_as_admin(test_client)
    return test_client
