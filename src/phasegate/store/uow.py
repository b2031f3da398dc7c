"""Unit of work: one session, one transaction; services are the only code that commits.

A block that reads and then writes opens the unit of work with ``uow.write()``: its transaction
takes the write lock from the start on SQLite (``BEGIN IMMEDIATE``), and ``get(..., lock=True)``
reads a record with ``SELECT ... FOR UPDATE`` on PostgreSQL, so what the block read is still
what it changes when it commits. Whatever the database still refuses as a collision (a unique
key, a stale version) leaves the block as ``Conflict``, never as a driver error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from phasegate.domain.errors import Conflict, NotFound, Unavailable
from phasegate.store.db import WRITE_TRANSACTION, first_line
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
            if exc is not None:
                _translate(exc)

    @contextmanager
    def write(self) -> Iterator[Self]:
        """``with uow.write(): ...``: a block that reads, then writes what it read.

        Its transaction begins as a write transaction (``BEGIN IMMEDIATE`` on SQLite: one
        writer at a time, the others wait for the lock). Nested in a block whose transaction has
        already begun, it goes on in that transaction.
        """
        with self:
            if not self.session.in_transaction():
                self.session.connection(execution_options={WRITE_TRANSACTION: True})
            yield self

    def commit(self) -> None:
        self.session.commit()

    def get(self, model: type[M], ident: Any, *, label: str | None = None, lock: bool = False) -> M:
        """The record with this primary key, or ``NotFound`` naming what was looked for.

        ``lock``: read it afresh under a row lock held to the end of the transaction
        (``SELECT ... FOR UPDATE``; on SQLite the write transaction already excludes writers).
        """
        if lock:
            obj = self.session.get(model, ident, with_for_update=True, populate_existing=True)
        else:
            obj = self.session.get(model, ident)
        if obj is None:
            raise NotFound(f"{label or model.__name__.lower()} {ident} does not exist")
        return obj


def _translate(error: BaseException) -> None:
    """Raise the domain error for a database error that ended a unit of work, if it has one."""
    if _is_unavailable(error):
        raise Unavailable(f"the database is unavailable: {first_line(error)}") from error
    if isinstance(error, IntegrityError):
        raise Conflict(f"the change conflicts with existing data: {first_line(error)}") from error
    if isinstance(error, StaleDataError):
        raise Conflict(
            "the record was changed or removed meanwhile; read it again and retry"
        ) from error


def _is_unavailable(error: BaseException) -> bool:
    """Did the database fail to answer (down, unreachable, locked), rather than refuse the data?"""
    if isinstance(error, OperationalError | DisconnectionError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated
