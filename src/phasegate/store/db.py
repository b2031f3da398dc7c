"""Engine creation for SQLite (WAL, foreign keys on) and PostgreSQL, and schema migration.

Transactions on SQLite: the driver's own transaction handling is switched off and SQLAlchemy
emits ``BEGIN`` itself (the recipe in SQLAlchemy's SQLite dialect documentation), so every
transaction, reads included, starts at its first statement. A connection given the execution
option ``WRITE_TRANSACTION`` begins with ``BEGIN IMMEDIATE`` instead: it takes the database's
write lock before it reads anything, so what it reads cannot change before it writes (the unit
of work's write mode, ``UnitOfWork.write``). PostgreSQL needs none of this; writers lock the rows
they change with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from phasegate.domain.errors import ConfigurationError, Unavailable
from phasegate.store.search import register_sqlite_functions

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Execution option of a connection whose transaction will write (see the module docstring).
WRITE_TRANSACTION = "phasegate_write_transaction"


def normalise_url(url: str) -> str:
    """Accept the usual spellings: ``postgresql://`` and ``postgres://`` use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; raises ``ConfigurationError`` naming the URL when it cannot be used."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ConfigurationError(
            f"PHASEGATE_DATABASE_URL: cannot parse {url!r} as a database URL"
        ) from error
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"PHASEGATE_DATABASE_URL: backend {backend!r} is not supported "
            "(use sqlite:///FILE or postgresql://USER@HOST/DB)"
        )
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigurationError(
                    f"PHASEGATE_DATABASE_URL: folder {folder} for the SQLite file does not exist"
                )
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as error:
        raise ConfigurationError(f"PHASEGATE_DATABASE_URL: {error}") from error
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver would begin a transaction only before the first INSERT, UPDATE or DELETE, so
    # what a writer read first was read outside its transaction; _sqlite_begin begins instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    register_sqlite_functions(dbapi_connection)


def _sqlite_begin(conn: Connection) -> None:
    writes = conn.get_execution_options().get(WRITE_TRANSACTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.attributes["engine"] = engine
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema up to ``revision`` (default: the newest, on every branch)."""
    command.upgrade(alembic_config(engine), revision)


def migrate(engine: Engine) -> tuple[str | None, str | None]:
    """Upgrade to the newest migration; the revisions before and after.

    Raises ``Unavailable`` naming the database when it cannot be reached or written.
    """
    try:
        before = current_revision(engine)
        upgrade(engine)
        return before, current_revision(engine)
    except SQLAlchemyError as error:
        shown = engine.url.render_as_string(hide_password=True)
        raise Unavailable(f"cannot initialise database {shown}: {first_line(error)}") from error


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def _joined(revisions: Sequence[str]) -> str | None:
    """One revision as it is; the heads of parallel branches (before their merge) as
    ``a+b``, sorted, so that two sets of heads compare as strings."""
    return "+".join(sorted(revisions)) or None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _joined(MigrationContext.configure(conn).get_current_heads())


def head_revision() -> str | None:
    return _joined(ScriptDirectory.from_config(alembic_config()).get_heads())


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def require_current_schema(engine: Engine) -> None:
    """Check that the database answers and is at the newest migration.

    Raises ``Unavailable`` when it cannot be reached, ``ConfigurationError`` when its schema
    needs ``phasegate init``.
    """
    shown = engine.url.render_as_string(hide_password=True)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as error:
        raise Unavailable(f"cannot open database {shown}: {first_line(error)}") from error
    if current != head_revision():
        raise ConfigurationError(
            f"database {shown} is not initialised at the current schema; run `phasegate init`"
        )


def first_line(error: BaseException) -> str:
    """The first line of what the driver said, without SQLAlchemy's wrapping."""
    orig = getattr(error, "orig", None)
    text_ = str(orig if orig is not None else error).strip()
    return text_.splitlines()[0] if text_ else type(error).__name__


def empty_database(engine: Engine) -> None:
    """Delete every row of every phasegate table; the schema and its version stay.

    Ids restart at 1 on both backends (SQLite reuses ids once a table without AUTOINCREMENT
    is empty), so a reload after emptying is identical to a load into a new database.
    """
    from phasegate.store.models import Base

    tables = Base.metadata.sorted_tables
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())
