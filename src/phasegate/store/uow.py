"""Unit of work: one session, one transaction; services are the only code that commits."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from phasegate.domain.errors import NotFound, Unavailable
from phasegate.store.db import first_line
from phasegate.store.models import Base

M = TypeVar("M", bound=Base)


class UnitOfWork:
    """``with uow: ... uow.commit()``; leaving the block without commit rolls back."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None
        self._depth = 0

    @classmethod
    def for_engine(cls, engine: Engine) -> UnitOfWork:
        return cls(sessionmaker(bind=engine, expire_on_commit=False))

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._session

    def __enter__(self) -> Self:
        if self._depth == 0:
            self._session = self._session_factory()
        self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            assert self._session is not None
            if exc_type is not None:
                self._session.rollback()
            # close() rolls back anything not committed without expiring loaded records, so
            # results stay readable after the block.
            self._session.close()
            self._session = None
            if exc is not None and _is_unavailable(exc):
                raise Unavailable(f"the database is unavailable: {first_line(exc)}") from exc

    def commit(self) -> None:
        self.session.commit()

    def get(self, model: type[M], ident: Any, *, label: str | None = None) -> M:
        """The record with this primary key, or ``NotFound`` naming what was looked for."""
        obj = self.session.get(model, ident)
        if obj is None:
            raise NotFound(f"{label or model.__name__.lower()} {ident} does not exist")
        return obj


def _is_unavailable(error: BaseException) -> bool:
    """Did the database fail to answer (down, unreachable, locked), rather than refuse the data?"""
    if isinstance(error, OperationalError | DisconnectionError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
