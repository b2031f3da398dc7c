"""Is the database reachable and its schema current? What a health check reports."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from phasegate.store import db
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    backend: str  # "sqlite" or "postgresql"
    reachable: bool
    schema_revision: str | None  # the migration the database is at
    schema_head: str | None  # the newest migration this version ships
    error: str | None = None  # why the database could not be reached

    @property
    def schema_up_to_date(self) -> bool:
        return self.reachable and self.schema_revision == self.schema_head


def check_database(uow: UnitOfWork) -> DatabaseHealth:
    """Connect, read the schema revision and compare it with the newest migration."""
    with uow:
        bind = uow.session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    backend = engine.url.get_backend_name()
    head = db.head_revision()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = db.current_revision(engine)
    except SQLAlchemyError as error:
        return DatabaseHealth(backend, False, None, head, db.first_line(error))
    return DatabaseHealth(backend, True, revision, head)
