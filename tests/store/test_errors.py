"""The store reports a database that is down or not set up as its own kind of error.

Neither is the caller's bad input: the CLI exits 1 and the API answers 503 for both.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from phasegate.domain.errors import ConfigurationError, InvalidInput, Unavailable
from phasegate.store import bulk, db
from phasegate.store.uow import UnitOfWork

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/none"


def test_unreachable_server_is_unavailable() -> None:
    uow = UnitOfWork.for_engine(db.make_engine(UNREACHABLE))
    with pytest.raises(Unavailable, match="the database is unavailable"), uow:
        uow.session.execute(text("SELECT 1"))


def test_schema_check_tells_unreachable_from_uninitialised(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="cannot open database"):
        db.require_current_schema(db.make_engine(UNREACHABLE))
    with pytest.raises(ConfigurationError, match="run `phasegate init`"):
        db.require_current_schema(db.make_engine(f"sqlite:///{tmp_path / 'new.db'}"))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://nobody@nowhere/db", "backend 'mysql' is not supported"),
        ("not a url", "cannot parse"),
        ("sqlite:////no/such/folder/x.db", "does not exist"),
    ],
)
def test_bad_urls_are_configuration_errors(url: str, reason: str) -> None:
    with pytest.raises(ConfigurationError, match=reason) as caught:
        db.make_engine(url)
    assert not isinstance(caught.value, InvalidInput)


def test_data_errors_are_not_mistaken_for_an_outage(engine: Engine) -> None:
    """A rejected row is the caller's problem: it stays an integrity error, not ``Unavailable``."""
    uow = UnitOfWork.for_engine(engine)
    with pytest.raises(Exception) as caught, uow:
        uow.session.execute(text("INSERT INTO products (id) VALUES (NULL)"))
    assert not isinstance(caught.value, Unavailable)


def test_bulk_rows_name_table_row_and_column(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(InvalidInput) as caught:
        bulk.insert_units(conn, [{"product_id": 1, "build_id": 1, "status": "lost"}])
    assert [f.loc for f in caught.value.fields] == ["units[0].serial"]
    assert str(caught.value) == "units row 0: missing column 'serial'"
