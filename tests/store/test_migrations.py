"""Migrations: upgrade from empty, step back and forth, and no drift from the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from phasegate.store import db
from phasegate.store.models import Base


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(db.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_upgrade_from_empty_creates_every_table(empty_engine: Engine) -> None:
    db.upgrade(empty_engine)
    assert db.is_up_to_date(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_downgrade_last_step_and_upgrade_again(empty_engine: Engine) -> None:
    revisions = _revisions()
    db.upgrade(empty_engine)
    previous = revisions[-2] if len(revisions) > 1 else "base"
    db.downgrade(empty_engine, previous)
    assert db.current_revision(empty_engine) == (None if previous == "base" else previous)
    db.upgrade(empty_engine)
    assert db.current_revision(empty_engine) == revisions[-1]


def test_every_step_up_and_down(empty_engine: Engine) -> None:
    for revision in _revisions():
        db.upgrade(empty_engine, revision)
    for _ in _revisions():
        db.downgrade(empty_engine, "-1")
    assert db.current_revision(empty_engine) is None
    assert not set(Base.metadata.tables) & set(inspect(empty_engine).get_table_names())


# SQLite's reflection cannot see indexes on expressions (lower(key)), so they are compared on
# PostgreSQL only; tests/store/test_versions_and_keys.py checks them on SQLite by what they refuse.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_models_and_migrations_do_not_drift(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_a_single_head() -> None:
    assert len(ScriptDirectory.from_config(db.alembic_config()).get_heads()) == 1
