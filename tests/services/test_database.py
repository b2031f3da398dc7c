"""Whole-database services: is anything stored, rows per table, emptying, on both backends."""

from __future__ import annotations

from phasegate.services import database
from phasegate.store.uow import UnitOfWork
from tests.factories import make_product


def test_empty_then_filled_then_emptied(uow: UnitOfWork) -> None:
    assert not database.holds_data(uow)
    assert set(database.row_counts(uow).values()) == {0}
    first = make_product(uow)
    counts = database.row_counts(uow)
    assert database.holds_data(uow)
    assert (counts["products"], counts["audit_events"], counts["units"]) == (1, 1, 0)
    database.empty_database(uow)
    assert not database.holds_data(uow)
    assert make_product(uow).id == first.id  # ids start again
