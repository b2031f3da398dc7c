"""What every command needs: settings, an engine on the configured database, a unit of work."""

from __future__ import annotations

from sqlalchemy import Engine

from phasegate.config import get_settings
from phasegate.domain.errors import InvalidInput
from phasegate.store import db
from phasegate.store.uow import UnitOfWork


def engine(*, migrated: bool = True) -> Engine:
    """Engine for ``PHASEGATE_DATABASE_URL``; with ``migrated``, insists the schema is current."""
    settings = get_settings()
    eng = db.make_engine(settings.database_url)
    if migrated:
        try:
            current = db.current_revision(eng)
        except Exception as error:
            raise InvalidInput(
                f"cannot open database {eng.url.render_as_string(hide_password=True)}: "
                f"{_first_line(error)}"
            ) from error
        if current != db.head_revision():
            raise InvalidInput(
                f"database {eng.url.render_as_string(hide_password=True)} is not initialised "
                "at the current schema; run `phasegate init`"
            )
    return eng


def uow() -> UnitOfWork:
    return UnitOfWork.for_engine(engine())


def actor() -> str:
    return get_settings().actor


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
