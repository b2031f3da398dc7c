"""A database that goes away under a running server: 503 in the one error shape, not a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from phasegate.app import create_app
from phasegate.config import Settings
from phasegate.store import db
from tests.conftest import PG_ADMIN_URL, new_postgres_database


@pytest.mark.postgres
def test_lost_database_answers_503() -> None:
    with new_postgres_database("phasegate_gone") as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        app = create_app(Settings(database_url=url), engine=engine)
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{engine.url.database}" WITH (FORCE)'))
        admin.dispose()
        with TestClient(app, raise_server_exceptions=False) as client:
            api = client.get("/api/v1/products")
            page = client.get("/")
        engine.dispose()
    assert api.status_code == 503
    assert api.json()["error"]["type"] == "unavailable"
    assert "the database is unavailable" in api.json()["error"]["message"]
    assert page.status_code == 503
    assert "Database unavailable" in page.text
