"""Shared fixtures: migrated databases on a real SQLite file and the real PostgreSQL server.

PostgreSQL tests get a database of their own, created for the session and dropped after it.
When the server cannot be reached the tests are skipped with the reason, except in CI
(``CI=true``), where that is a failure: CI must never pass by skipping the database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from phasegate.store import db
from phasegate.store.uow import UnitOfWork

PG_ADMIN_URL = os.environ.get(
    "PHASEGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI but unreachable: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")


@contextmanager
def new_postgres_database(prefix: str = "phasegate_test") -> Iterator[str]:
    """URL of a fresh, uniquely named PostgreSQL database, dropped when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # OperationalError and friends: the server is not there
        admin.dispose()
        _postgres_unavailable(str(error).splitlines()[0])
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database that lives for the test session."""
    with new_postgres_database() as url:
        yield url


def _reset_postgres(url: str) -> Engine:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'phasegate.db'}")
    else:
        engine = _reset_postgres(request.getfixturevalue("postgres_database"))
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """A migrated engine on each backend."""
    db.upgrade(empty_engine)
    return empty_engine


@pytest.fixture
def uow(engine: Engine) -> UnitOfWork:
    return UnitOfWork.for_engine(engine)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite file, for tests that need only one backend."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'phasegate.db'}")
    db.upgrade(engine)
    yield engine
    engine.dispose()
