"""The unit of work: write transactions, row locks, and database collisions as ``Conflict``."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, event, update

from phasegate.domain.errors import Conflict
from phasegate.store.models import DefectCode, Product
from phasegate.store.uow import UnitOfWork


def _code(uow: UnitOfWork, code: str) -> DefectCode:
    with uow:
        item = DefectCode(code=code, description="scratch")
        uow.session.add(item)
        uow.commit()
        return item


def test_a_stale_version_leaves_as_conflict(engine: Engine) -> None:
    uow = UnitOfWork.for_engine(engine)
    item = _code(uow, "D-1")
    assert item.version == 1
    with engine.begin() as conn:  # another writer changes it after it was read
        table = DefectCode.__table__
        conn.execute(update(table).values(description="dent", version=table.c.version + 1))
    with pytest.raises(Conflict, match="changed or removed meanwhile"):
        _recategorise(uow, item)


def _recategorise(uow: UnitOfWork, item: DefectCode) -> None:
    with uow:
        uow.session.add(item)
        item.category = "cosmetic"
        uow.commit()


def test_a_duplicate_leaves_as_conflict(uow: UnitOfWork) -> None:
    _code(uow, "D-2")
    with pytest.raises(Conflict, match="conflicts with existing data"):
        _code(uow, "d-2")


def test_write_transactions_take_the_lock_before_reading(engine: Engine) -> None:
    """The second writer reads only after the first has committed (a row lock on PostgreSQL,
    BEGIN IMMEDIATE on SQLite), so it sees the first one's change."""
    first, second = UnitOfWork.for_engine(engine), UnitOfWork.for_engine(engine)
    ident = _code(first, "D-3").id
    locked, seen = threading.Event(), []

    def slow_writer() -> None:
        with first.write():
            item = first.get(DefectCode, ident, lock=True)
            locked.set()
            time.sleep(0.5)
            item.description = "first"
            first.commit()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    locked.wait()
    with second.write():
        seen.append(second.get(DefectCode, ident, lock=True).description)
    thread.join()
    assert seen == ["first"]


def test_only_write_blocks_begin_immediate_on_sqlite(sqlite_engine: Engine) -> None:
    statements: list[str] = []
    event.listen(
        sqlite_engine,
        "before_cursor_execute",
        lambda conn, cursor, sql, *args: statements.append(sql),
    )
    uow = UnitOfWork.for_engine(sqlite_engine)
    with uow:
        uow.session.get(Product, 1)
    with uow.write():
        uow.session.get(Product, 1)
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN", "BEGIN IMMEDIATE"]
