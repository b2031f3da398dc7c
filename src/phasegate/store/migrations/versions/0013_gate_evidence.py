"""Gate evidence: product overrides of the gate plans, the go-to-market checklist, the number of
units the regulatory approvals need, and the sourcing of each part.

- ``gate_plans``: a product's override of the default plan of one gate, as TOML; a change is a
  new row and the latest row of a (product, gate) applies (``services/gates/evaluation.py``);
- ``gtm_checklist_items``: the go-to-market checklist of a product (title, done, owner, due);
- ``products.regulatory_units_required``: pilot units the regulatory approvals need;
- ``parts.sourced``, ``parts.single_source``, ``parts.sourcing_risk_accepted``: whether a part
  has a qualified supplier, only one, and whether that risk was accepted (all false until said).

Revision ID: 0013_gate_evidence
Revises: 0012_pilot_analytics
Create Date: 2026-12-02 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_gate_evidence"
down_revision: str | None = "0012_pilot_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHASES = ("prototype", "pilot", "production")
PART_FLAGS = ("sourced", "single_source", "sourcing_risk_accepted")


def _bookkeeping() -> list[sa.Column[object]]:
    """The version and timestamps of a record callers change."""
    return [
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "gate_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column(
            "to_phase",
            sa.Enum(*PHASES, name="phase", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("toml", sa.Text(), nullable=False),
        *_bookkeeping(),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_gate_plans_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_plans")),
    )
    op.create_index("ix_gate_plans_product_id_to_phase", "gate_plans", ["product_id", "to_phase"])
    op.create_table(
        "gtm_checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("done", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        *_bookkeeping(),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_gtm_checklist_items_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gtm_checklist_items")),
    )
    op.create_index(
        op.f("ix_gtm_checklist_items_product_id"), "gtm_checklist_items", ["product_id"]
    )
    # Added in place on both backends: a batch copy of ``products`` or ``parts`` on SQLite
    # would lose their case-insensitive unique indexes.
    op.add_column("products", sa.Column("regulatory_units_required", sa.Integer(), nullable=True))
    for name in PART_FLAGS:
        op.add_column(
            "parts", sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def _drop_column(table: str, name: str) -> None:
    """Drop a column in place: a batch copy of ``products`` or ``parts`` on SQLite would lose
    their case-insensitive unique indexes, which SQLite (3.35 or later) keeps this way."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
    else:
        op.drop_column(table, name)


def downgrade() -> None:
    for name in reversed(PART_FLAGS):
        _drop_column("parts", name)
    _drop_column("products", "regulatory_units_required")
    op.drop_index(op.f("ix_gtm_checklist_items_product_id"), table_name="gtm_checklist_items")
    op.drop_table("gtm_checklist_items")
    op.drop_index("ix_gate_plans_product_id_to_phase", table_name="gate_plans")
    op.drop_table("gate_plans")
