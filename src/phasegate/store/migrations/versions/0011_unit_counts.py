"""Maintained unit and defect counts per build, and an index for the serial search.

The build page counted a build's units by status and allocation, and its defects, on every
request, so it grew with the build (``benchmarks/bench_pages.py``). Two tables now hold those
counts, kept exact by triggers in the database, so every write path (the record services, the
bulk ingest, the demo loader, a hand-written SQL statement) keeps them without knowing:

- ``build_unit_counts`` (build_id, status, allocation, n): a unit inserted adds one to its row,
  a unit deleted takes one away, a unit whose build, status or allocation changes moves;
- ``build_defect_counts`` (build_id, n): a defect inserted or deleted counts for its unit's
  build; a defect moved to another unit, or a unit moved to another build, moves its count.

A unit deleted takes its defects' count away *before* it goes (its defects are deleted by the
foreign key's cascade after it, when their trigger no longer finds its build), on both backends.
Counts that fall to zero stay as rows of zero.

``ix_units_build_id_product_id_serial`` takes the place of ``ix_units_build_id_serial``: a
build's units are of one product, so it still gives the build's unit list in serial order, and
also the API's list of a build's units, which is in (product, serial) order, by key.

On PostgreSQL the serial search is served by a trigram index (``pg_trgm``) on lower(serial);
the extension needs a superuser to create once. Without it the index is left out and the
search reads the build's serial index instead, as on SQLite.

A later migration that rebuilds ``units`` or ``defects`` on SQLite (``batch_alter_table``
copies the table) must create these triggers again: SQLite drops a table's triggers with it.

Revision ID: 0011_unit_counts
Revises: 0006_characteristic_passed
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_unit_counts"
down_revision: str | None = "0006_characteristic_passed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIT_STATUSES = ("in_process", "passed", "failed", "rework", "scrapped", "shipped", "returned")
ALLOCATIONS = ("unallocated", "testing", "marketing", "regulatory", "engineering", "customer")

# Statements shared by both backends, with OLD/NEW rows of the trigger.
_ADD_UNIT = (
    "INSERT INTO build_unit_counts (build_id, status, allocation, n) "
    "VALUES (NEW.build_id, NEW.status, NEW.allocation, 1) "
    "ON CONFLICT (build_id, status, allocation) DO UPDATE SET n = build_unit_counts.n + 1"
)
# A build being deleted takes its counts with it: its units' deletes leave them alone (the
# counts' row may still be there, and must not be changed to refer to a build that is gone).
_BUILD_THERE = "EXISTS (SELECT 1 FROM builds WHERE id = {build})"
_REMOVE_UNIT = (
    "UPDATE build_unit_counts SET n = n - 1 WHERE build_id = OLD.build_id "
    "AND status = OLD.status AND allocation = OLD.allocation "
    f"AND {_BUILD_THERE.format(build='OLD.build_id')}"
)
_ADD_DEFECTS = (  # {n}: how many, of unit {unit}'s build
    "INSERT INTO build_defect_counts (build_id, n) "
    "SELECT build_id, {n} FROM units WHERE id = {unit} "
    "ON CONFLICT (build_id) DO UPDATE SET n = build_defect_counts.n + {n}"
)
_REMOVE_DEFECTS = (
    "UPDATE build_defect_counts SET n = n - {n} "
    "WHERE build_id = (SELECT build_id FROM units WHERE id = {unit}) "
    "AND EXISTS (SELECT 1 FROM builds WHERE id = build_defect_counts.build_id)"
)
_UNIT_DEFECTS = "(SELECT count(*) FROM defects WHERE unit_id = {unit})"
_UNIT_CHANGED = (
    "OLD.build_id <> NEW.build_id OR OLD.status <> NEW.status OR OLD.allocation <> NEW.allocation"
)
_TRIGGERS = (
    ("units", "trg_units_counts_insert"),
    ("units", "trg_units_counts_delete"),
    ("units", "trg_units_counts_update"),
    ("defects", "trg_defects_counts_insert"),
    ("defects", "trg_defects_counts_delete"),
    ("defects", "trg_defects_counts_update"),
)


def _sqlite_triggers() -> list[str]:
    # The unit's defects move with it: counted off the old build while it is still there.
    move_defects_old = _REMOVE_DEFECTS.format(n=_UNIT_DEFECTS.format(unit="OLD.id"), unit="OLD.id")
    return [
        f"CREATE TRIGGER trg_units_counts_insert AFTER INSERT ON units BEGIN {_ADD_UNIT}; END",
        "CREATE TRIGGER trg_units_counts_delete BEFORE DELETE ON units BEGIN "
        f"{_REMOVE_UNIT}; {move_defects_old}; END",
        "CREATE TRIGGER trg_units_counts_update AFTER UPDATE OF build_id, status, allocation "
        f"ON units WHEN {_UNIT_CHANGED} BEGIN {_REMOVE_UNIT}; {_ADD_UNIT}; "
        "UPDATE build_defect_counts SET n = n - "
        f"{_UNIT_DEFECTS.format(unit='NEW.id')} "
        "WHERE build_id = OLD.build_id AND OLD.build_id <> NEW.build_id; "
        "INSERT INTO build_defect_counts (build_id, n) "
        f"SELECT NEW.build_id, {_UNIT_DEFECTS.format(unit='NEW.id')} "
        "WHERE OLD.build_id <> NEW.build_id "
        "ON CONFLICT (build_id) DO UPDATE SET n = build_defect_counts.n + excluded.n; END",
        "CREATE TRIGGER trg_defects_counts_insert AFTER INSERT ON defects BEGIN "
        f"{_ADD_DEFECTS.format(n=1, unit='NEW.unit_id')}; END",
        "CREATE TRIGGER trg_defects_counts_delete AFTER DELETE ON defects BEGIN "
        f"{_REMOVE_DEFECTS.format(n=1, unit='OLD.unit_id')}; END",
        "CREATE TRIGGER trg_defects_counts_update AFTER UPDATE OF unit_id ON defects "
        "WHEN OLD.unit_id <> NEW.unit_id BEGIN "
        f"{_REMOVE_DEFECTS.format(n=1, unit='OLD.unit_id')}; "
        f"{_ADD_DEFECTS.format(n=1, unit='NEW.unit_id')}; END",
    ]


def _postgres_function(name: str, body: str) -> str:
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )


def _postgres_triggers() -> list[str]:
    moved = _UNIT_DEFECTS.format(unit="NEW.id")
    return [
        _postgres_function("phasegate_units_counts_insert", f"{_ADD_UNIT};"),
        # BEFORE DELETE: the unit's defects are still there to count; OLD lets the delete go on.
        "CREATE FUNCTION phasegate_units_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_REMOVE_UNIT}; "
        f"{_REMOVE_DEFECTS.format(n=_UNIT_DEFECTS.format(unit='OLD.id'), unit='OLD.id')}; "
        "RETURN OLD; END $$",
        _postgres_function(
            "phasegate_units_counts_update",
            f"{_REMOVE_UNIT}; {_ADD_UNIT}; "
            "IF OLD.build_id <> NEW.build_id THEN "
            f"UPDATE build_defect_counts SET n = n - {moved} WHERE build_id = OLD.build_id; "
            f"INSERT INTO build_defect_counts (build_id, n) VALUES (NEW.build_id, {moved}) "
            "ON CONFLICT (build_id) DO UPDATE SET n = build_defect_counts.n + excluded.n; "
            "END IF;",
        ),
        _postgres_function(
            "phasegate_defects_counts_insert", f"{_ADD_DEFECTS.format(n=1, unit='NEW.unit_id')};"
        ),
        _postgres_function(
            "phasegate_defects_counts_delete",
            f"{_REMOVE_DEFECTS.format(n=1, unit='OLD.unit_id')};",
        ),
        _postgres_function(
            "phasegate_defects_counts_update",
            f"{_REMOVE_DEFECTS.format(n=1, unit='OLD.unit_id')}; "
            f"{_ADD_DEFECTS.format(n=1, unit='NEW.unit_id')};",
        ),
        "CREATE TRIGGER trg_units_counts_insert AFTER INSERT ON units "
        "FOR EACH ROW EXECUTE FUNCTION phasegate_units_counts_insert()",
        "CREATE TRIGGER trg_units_counts_delete BEFORE DELETE ON units "
        "FOR EACH ROW EXECUTE FUNCTION phasegate_units_counts_delete()",
        "CREATE TRIGGER trg_units_counts_update AFTER UPDATE OF build_id, status, allocation "
        f"ON units FOR EACH ROW WHEN ({_UNIT_CHANGED}) "
        "EXECUTE FUNCTION phasegate_units_counts_update()",
        "CREATE TRIGGER trg_defects_counts_insert AFTER INSERT ON defects "
        "FOR EACH ROW EXECUTE FUNCTION phasegate_defects_counts_insert()",
        "CREATE TRIGGER trg_defects_counts_delete AFTER DELETE ON defects "
        "FOR EACH ROW EXECUTE FUNCTION phasegate_defects_counts_delete()",
        "CREATE TRIGGER trg_defects_counts_update AFTER UPDATE OF unit_id ON defects "
        "FOR EACH ROW WHEN (OLD.unit_id <> NEW.unit_id) "
        "EXECUTE FUNCTION phasegate_defects_counts_update()",
    ]


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def _create_tables() -> None:
    op.create_table(
        "build_unit_counts",
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum(UNIT_STATUSES, "unitstatus"), nullable=False),
        sa.Column("allocation", _enum(ALLOCATIONS, "allocation"), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["builds.id"],
            name=op.f("fk_build_unit_counts_build_id_builds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "build_id", "status", "allocation", name=op.f("pk_build_unit_counts")
        ),
    )
    op.create_table(
        "build_defect_counts",
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["builds.id"],
            name=op.f("fk_build_defect_counts_build_id_builds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("build_id", name=op.f("pk_build_defect_counts")),
    )


def _trigram_index() -> None:
    """The trigram index of serials, where the extension can be had (a savepoint keeps the
    migration's transaction usable when it cannot)."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        return
    op.execute(
        "CREATE INDEX ix_units_lower_serial_trgm ON units USING gin (lower(serial) gin_trgm_ops)"
    )


def upgrade() -> None:
    op.create_index(
        "ix_units_build_id_product_id_serial", "units", ["build_id", "product_id", "serial"]
    )
    op.drop_index("ix_units_build_id_serial", table_name="units")
    _create_tables()
    op.execute(
        "INSERT INTO build_unit_counts (build_id, status, allocation, n) "
        "SELECT build_id, status, allocation, count(*) FROM units "
        "GROUP BY build_id, status, allocation"
    )
    op.execute(
        "INSERT INTO build_defect_counts (build_id, n) "
        "SELECT u.build_id, count(*) FROM defects d JOIN units u ON u.id = d.unit_id "
        "GROUP BY u.build_id"
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _postgres_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)
    if postgres:
        _trigram_index()


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        for _, name in _TRIGGERS:
            op.execute(f"DROP FUNCTION IF EXISTS phasegate_{name.removeprefix('trg_')}()")
        op.execute("DROP INDEX IF EXISTS ix_units_lower_serial_trgm")
    op.drop_table("build_defect_counts")
    op.drop_table("build_unit_counts")
    op.create_index("ix_units_build_id_serial", "units", ["build_id", "serial"])
    op.drop_index("ix_units_build_id_product_id_serial", table_name="units")
