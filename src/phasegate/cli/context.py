"""What every command needs: settings, an engine on the configured database, a unit of work."""

from __future__ import annotations

from sqlalchemy import Engine

from phasegate.config import get_settings
from phasegate.store import db
from phasegate.store.uow import UnitOfWork


def engine(*, migrated: bool = True) -> Engine:
    """Engine for ``PHASEGATE_DATABASE_URL``; with ``migrated``, insists the schema is current."""
    eng = db.make_engine(get_settings().database_url)
    if migrated:
        db.require_current_schema(eng)
    return eng


def uow() -> UnitOfWork:
    return UnitOfWork.for_engine(engine())


def actor() -> str:
    return get_settings().actor
