"""Alembic environment: the engine handed in by ``phasegate.store.db``, or the configured URL."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from alembic import context
from sqlalchemy import Connection, Engine, pool
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


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with _sqlite_keys_off(connection), context.begin_transaction():
        context.run_migrations()


@contextlib.contextmanager
def _sqlite_keys_off(connection: Connection) -> Iterator[None]:
    """On SQLite, foreign keys off while the migrations run, as SQLite's documented procedure
    for changing a table's schema asks: a batch migration copies a table, drops the old one and
    renames the copy, and with the keys on the drop of a table that other rows refer to fails.
    Afterwards every key is checked (``PRAGMA foreign_key_check``) and the keys are on again.

    The pragma has no effect inside a transaction, so it is set only on a connection that has
    none open yet (``phasegate.store.db`` begins transactions itself).
    """
    dbapi = connection.connection.dbapi_connection
    if connection.dialect.name != "sqlite" or connection.in_transaction() or dbapi is None:
        yield
        return
    dbapi.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = dbapi.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            table, rowid, parent, _ = broken[0]
            raise RuntimeError(
                f"after the migrations, {len(broken)} rows refer to rows that do not exist; "
                f"the first: {table} row {rowid} refers to {parent}"
            )
    finally:
        dbapi.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
