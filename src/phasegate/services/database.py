"""The database as a whole: does it hold data, how many rows per table, empty it."""

from __future__ import annotations

from sqlalchemy import Engine, func, literal, select

from phasegate.store import db
from phasegate.store.models import Base
from phasegate.store.uow import UnitOfWork


def holds_data(uow: UnitOfWork) -> bool:
    """Does any phasegate table hold a row?"""
    with uow:
        session = uow.session
        return any(
            session.execute(select(literal(1)).select_from(table).limit(1)).first() is not None
            for table in Base.metadata.sorted_tables
        )


def row_counts(uow: UnitOfWork) -> dict[str, int]:
    """Rows per table, by table name."""
    with uow:
        session = uow.session
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def empty_database(uow: UnitOfWork) -> None:
    """Delete every row of every table; the schema stays and ids restart at 1.

    Not audited: the audit trail goes with everything else.
    """
    with uow:
        bind = uow.session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    db.empty_database(engine)
