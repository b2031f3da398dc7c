"""Whole-database services: is anything stored, rows per table, emptying, on both backends."""

from __future__ import annotations

import datetime as dt

from phasegate.services import database, identity
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_product

TIMES = identity.SessionTimes(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=8))


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


def test_emptying_removes_users_tokens_and_sessions(uow: UnitOfWork) -> None:
    identity.create_user(uow, "ann", "engineer", actor=ACTOR, password="a long passphrase")
    ann = identity.authenticate(uow, "ann", "a long passphrase")
    identity.start_session(uow, ann, TIMES)
    identity.create_token(uow, actor=ann, scopes=["read"])
    counts = database.row_counts(uow)
    assert (counts["users"], counts["api_tokens"], counts["web_sessions"]) == (1, 1, 1)
    database.empty_database(uow)
    counts = database.row_counts(uow)
    assert (counts["users"], counts["api_tokens"], counts["web_sessions"]) == (0, 0, 0)
    with uow:
        assert identity.first_admin(uow) is None
