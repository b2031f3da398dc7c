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


def _parents(script: ScriptDirectory, revision: str) -> tuple[str, ...]:
    found = script.get_revision(revision)
    assert found is not None
    down = found.down_revision
    return () if down is None else (down,) if isinstance(down, str) else tuple(down)


def _step_down_target(script: ScriptDirectory, heads: tuple[str, ...]) -> str:
    """Where one step down from ``heads`` goes: the one parent of a single head; below a merge
    or parallel branches, their nearest common ancestor (the branches go down together)."""
    tips = _parents(script, heads[0]) if len(heads) == 1 else heads
    if len(tips) <= 1:
        return tips[0] if tips else "base"
    common = set.intersection(
        *({r.revision for r in script.iterate_revisions(tip, "base")} for tip in tips)
    )
    order = _revisions()
    return max(common, key=order.index) if common else "base"


def test_downgrade_last_step_and_upgrade_again(empty_engine: Engine) -> None:
    script = ScriptDirectory.from_config(db.alembic_config())
    db.upgrade(empty_engine)
    head = db.current_revision(empty_engine)
    previous = _step_down_target(script, tuple(script.get_heads()))
    db.downgrade(empty_engine, previous)
    assert db.current_revision(empty_engine) == (None if previous == "base" else previous)
    db.upgrade(empty_engine)
    assert db.current_revision(empty_engine) == head


def test_every_step_up_and_down(empty_engine: Engine) -> None:
    script = ScriptDirectory.from_config(db.alembic_config())
    for revision in _revisions():
        db.upgrade(empty_engine, revision)
    assert db.is_up_to_date(empty_engine)
    while (current := db.current_revision(empty_engine)) is not None:
        target = _step_down_target(script, tuple(current.split("+")))
        db.downgrade(empty_engine, target)
        assert db.current_revision(empty_engine) == (None if target == "base" else target)
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
