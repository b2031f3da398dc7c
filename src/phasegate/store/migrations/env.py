"""Alembic environment: the engine handed in by ``phasegate.store.db``, or the configured URL."""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy import Engine, pool
from sqlalchemy.exc import SAWarning

from phasegate.store.db import make_engine
from phasegate.store.models import Base

config = context.config
target_metadata = Base.metadata

# SQLite's batch mode reflects the tables it copies and the tables they refer to, and reflection
# cannot read the lower() indexes of the latter. Those tables are not copied, so their indexes
# stay (tests/store/test_versions_and_keys.py checks what they refuse): nothing to act on.
warnings.filterwarnings(
    "ignore", message="Skipped unsupported reflection of expression-based index", category=SAWarning
)


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from phasegate.config import get_settings

        url = get_settings().database_url
    return make_engine(url, poolclass=pool.NullPool)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with _engine().connect() as conn:
        _run(conn)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
