"""Test data in: idempotent by source id, nothing lost, every file and rejected record kept.

- ``station_passes.source_id`` and ``defects.source_id``: like ``test_runs.source_id``, the id
  a record has in its source, unique, so sending a record again stores nothing. Rows stored
  before this migration get ``legacy:<table>:<id>``.
- ``test_runs.extra``: fields of a source record phasegate has no column for.
- ``measurements.marginal`` and ``measurements.series`` (the rows of a dimensioned measurement,
  as JSON: read only with their measurement, so a column, not a table).
- ``attachments``: attachment metadata of a test run.
- ``ingest_files`` and ``ingest_rejects``: each file taken in, with its counts, and each record
  of it that was refused, with where and why, for repair.
- ``characteristic_aliases``: other names of a product's characteristics (unique per product
  whatever their case), so measurement names map onto characteristics.

Revision ID: 0005_ingest
Revises: 0004_identity
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ingest"
down_revision: str | None = "0004_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SOURCE_ID_TABLES = ("station_passes", "defects")


def upgrade() -> None:
    for table in SOURCE_ID_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("source_id", sa.String(length=200), nullable=True))
        op.execute(
            sa.text(f"UPDATE {table} SET source_id = 'legacy:{table}:' || CAST(id AS VARCHAR(20))")
        )
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("source_id", existing_type=sa.String(length=200), nullable=False)
            batch_op.create_unique_constraint(op.f(f"uq_{table}_source_id"), ["source_id"])
    with op.batch_alter_table("test_runs") as batch_op:
        batch_op.add_column(sa.Column("extra", sa.JSON(), nullable=True))
    with op.batch_alter_table("measurements") as batch_op:
        batch_op.add_column(
            sa.Column("marginal", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("series", sa.JSON(), nullable=True))
    op.create_table(
        "attachments",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("test_run_id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("mimetype", sa.String(length=120), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha1", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["test_run_id"],
            ["test_runs.id"],
            name=op.f("fk_attachments_test_run_id_test_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index("ix_attachments_test_run_id", "attachments", ["test_run_id"])
    op.create_table(
        "ingest_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_ingest_files_partner_id_partners"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_files")),
    )
    op.create_index("ix_ingest_files_started_at", "ingest_files", ["started_at"])
    op.create_table(
        "ingest_rejects",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("where", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["ingest_files.id"],
            name=op.f("fk_ingest_rejects_file_id_ingest_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_rejects")),
    )
    op.create_index("ix_ingest_rejects_file_id", "ingest_rejects", ["file_id"])
    op.create_index("ix_ingest_rejects_source_id", "ingest_rejects", ["source_id"])
    op.create_table(
        "characteristic_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=200), nullable=False),
        sa.Column("characteristic_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_characteristic_aliases_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["characteristic_id"],
            ["characteristics.id"],
            name=op.f("fk_characteristic_aliases_characteristic_id_characteristics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_characteristic_aliases")),
    )
    op.create_index(
        "ix_characteristic_aliases_characteristic_id",
        "characteristic_aliases",
        ["characteristic_id"],
    )
    op.create_index(
        "uq_characteristic_aliases_product_id_lower_alias",
        "characteristic_aliases",
        ["product_id", sa.text("lower(alias)")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(
        "uq_characteristic_aliases_product_id_lower_alias", table_name="characteristic_aliases"
    )
    op.drop_index(
        "ix_characteristic_aliases_characteristic_id", table_name="characteristic_aliases"
    )
    op.drop_table("characteristic_aliases")
    op.drop_index("ix_ingest_rejects_source_id", table_name="ingest_rejects")
    op.drop_index("ix_ingest_rejects_file_id", table_name="ingest_rejects")
    op.drop_table("ingest_rejects")
    op.drop_index("ix_ingest_files_started_at", table_name="ingest_files")
    op.drop_table("ingest_files")
    op.drop_index("ix_attachments_test_run_id", table_name="attachments")
    op.drop_table("attachments")
    with op.batch_alter_table("measurements") as batch_op:
        batch_op.drop_column("series")
        batch_op.drop_column("marginal")
    with op.batch_alter_table("test_runs") as batch_op:
        batch_op.drop_column("extra")
    for table in reversed(SOURCE_ID_TABLES):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_{table}_source_id"), type_="unique")
            batch_op.drop_column("source_id")
