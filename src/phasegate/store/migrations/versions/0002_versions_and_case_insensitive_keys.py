"""Writes that hold: a version on every record callers change, one passing decision per gate,
keys unique whatever their case.

- ``version`` on the twelve record tables callers can change (1 for the rows already there):
  every UPDATE names the version it read and raises it by one, so two writers can no longer
  both change the same state and lose one change.
- A partial unique index on gate decisions: at most one go or conditional go per product and
  gate. Concurrent decisions for one gate had all been stored.
- Unique indexes on ``lower()`` of product and requirement keys, revision, build and defect
  codes and unit serials: ``case-x`` and ``CASE-X`` could be two products, and a lookup of
  one found the other. The old case-sensitive unique constraints stay (the new indexes imply
  them; dropping them would rebuild the tables on SQLite).

Rows that already break a new rule stop the upgrade before anything changes, with a message
listing them: which of two colliding records to keep, or to rename, is for a person to decide.

Revision ID: 0002_writes
Revises: 0001_core
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from phasegate.domain.errors import ConfigurationError

revision: str = "0002_writes"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED = (
    "products",
    "revisions",
    "requirements",
    "characteristics",
    "partners",
    "lines",
    "stations",
    "builds",
    "units",
    "findings",
    "feedback",
    "defect_codes",
)

# (index, table, the column compared in lower case, the columns compared as they are);
# the unit serial comes first in its index, so a serial is found without its product.
CASE_INSENSITIVE = (
    ("uq_products_lower_key", "products", "key", ()),
    ("uq_revisions_product_id_lower_code", "revisions", "code", ("product_id",)),
    ("uq_requirements_product_id_lower_key", "requirements", "key", ("product_id",)),
    ("uq_builds_product_id_lower_code", "builds", "code", ("product_id",)),
    ("uq_units_lower_serial_product_id", "units", "serial", ("product_id",)),
    ("uq_defect_codes_lower_code", "defect_codes", "code", ()),
)

GATE_INDEX = "uq_gate_decisions_product_id_to_phase"
PASSED = "outcome IN ('go', 'conditional')"
SHOWN = 10  # collisions listed in the message


def upgrade() -> None:
    problems = [
        problem
        for _name, table, column, others in CASE_INSENSITIVE
        for problem in _case_collisions(table, column, others)
    ]
    problems += _repeated_gate_decisions()
    if problems:
        raise ConfigurationError(
            "cannot upgrade the database: these records break the rules of the new schema; "
            "rename or remove one of each, then run `phasegate init` again: " + "; ".join(problems)
        )
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch_op:
            # A plain default (not an SQL expression) lets SQLite add the column in place.
            batch_op.add_column(
                sa.Column("version", sa.Integer(), server_default="1", nullable=False)
            )
    for name, table, column, others in CASE_INSENSITIVE:
        lowered = sa.text(f"lower({column})")
        parts = [lowered, *others] if table == "units" else [*others, lowered]
        op.create_index(name, table, parts, unique=True)
    op.create_index(
        GATE_INDEX,
        "gate_decisions",
        ["product_id", "to_phase"],
        unique=True,
        sqlite_where=sa.text(PASSED),
        postgresql_where=sa.text(PASSED),
    )


def downgrade() -> None:
    op.drop_index(GATE_INDEX, table_name="gate_decisions")
    for name, table, _column, _others in CASE_INSENSITIVE:
        op.drop_index(name, table_name=table)
    for table in VERSIONED:
        # Not in batch mode: SQLite drops the column in place instead of rebuilding the table.
        op.drop_column(table, "version")


def _case_collisions(table: str, column: str, others: tuple[str, ...]) -> list[str]:
    """Pairs of rows of ``table`` whose ``column`` differs only in case (``others`` equal)."""
    same = " AND ".join(
        [f"lower(a.{column}) = lower(b.{column})", *(f"a.{o} = b.{o}" for o in others)]
    )
    rows = op.get_bind().execute(
        sa.text(
            f"SELECT a.id, a.{column}, b.id, b.{column} FROM {table} a JOIN {table} b "
            f"ON {same} AND a.id < b.id ORDER BY a.id, b.id LIMIT {SHOWN}"
        )
    )
    return [
        f"{table} {a} {first!r} and {b} {second!r} have the same {column} but for case"
        for a, first, b, second in rows
    ]


def _repeated_gate_decisions() -> list[str]:
    """Products with more than one go or conditional go at the same gate."""
    rows = op.get_bind().execute(
        sa.text(
            f"SELECT product_id, to_phase, count(*) FROM gate_decisions WHERE {PASSED} "
            f"GROUP BY product_id, to_phase HAVING count(*) > 1 "
            f"ORDER BY product_id, to_phase LIMIT {SHOWN}"
        )
    )
    return [
        f"product {product} has {n} go or conditional decisions at the gate into {phase}"
        for product, phase, n in rows
    ]
