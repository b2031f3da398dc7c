"""What every command needs: settings, an engine on the configured database, a unit of work,
and the user the command acts as."""

from __future__ import annotations

from sqlalchemy import Engine

from phasegate.config import get_settings
from phasegate.domain.policy import Principal
from phasegate.services import identity
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


def principal(work: UnitOfWork) -> Principal:
    """The user the CLI acts as: ``PHASEGATE_USER``, else the first admin.

    ``Unauthenticated`` when that user does not exist or is disabled, or when there are no
    users yet; the audit trail names this user for every change the command makes.
    """
    return identity.cli_principal(work, get_settings().user)


def session() -> tuple[UnitOfWork, Principal]:
    """A unit of work on the configured database and the CLI's user."""
    work = uow()
    return work, principal(work)
