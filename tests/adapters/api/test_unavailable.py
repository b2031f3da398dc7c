"""A database that goes away under a running server: 503 in the one error shape, not a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from phasegate.app import create_app
from phasegate.config import Settings
from phasegate.store import db
from tests.adapters.api.support import SECRET_KEY, bearer, sign_in_as_admin
from tests.conftest import PG_ADMIN_URL, new_postgres_database


@pytest.mark.postgres
def test_lost_database_answers_503() -> None:
    """The token cannot be checked without the database: 503, not 401 and not a 500."""
    with new_postgres_database("phasegate_gone") as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        app = create_app(Settings(database_url=url, secret_key=SECRET_KEY), engine=engine)
        with TestClient(app, raise_server_exceptions=False) as client:
            setup = TestClient(app, base_url="http://testserver/api/v1")
            token = sign_in_as_admin(setup)
            assert setup.get("/products").status_code == 200
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{engine.url.database}" WITH (FORCE)'))
            admin.dispose()
            api = client.get("/api/v1/products", headers=bearer(token))
            health = client.get("/api/v1/health")
        engine.dispose()
    assert api.status_code == 503
    assert api.json()["error"]["type"] == "unavailable"
    assert "the database is unavailable" in api.json()["error"]["message"]
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
