"""Control plans: the QC procedure per station, the gauges it measures with, gage R&R studies.

- ``control_plans``: a product's control plan (optionally for one revision and one line), with
  its own version label and a status (draft, released, obsolete).
- ``gauges``: measuring instruments, unique by name whatever its case.
- ``control_plan_items``: per station, the characteristic checked, method, gauge, sample size,
  frequency (as text and as every N units, hours, shifts...), control chart and reaction plan.
- ``gage_studies``: a crossed gage R&R study of a gauge on a characteristic: its results and
  its raw readings, so it can be recomputed.

Revision ID: 0010_control_plan
Revises: 0006_characteristic_passed
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_control_plan"
down_revision: str | None = "0006_characteristic_passed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAN_STATUSES = ("draft", "released", "obsolete")
FREQUENCY_BASES = ("unit", "hour", "shift", "day", "lot", "setup")


def _bookkeeping() -> list[sa.Column[object]]:
    """The version and timestamps of a record callers change."""
    return [
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "control_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plan_version", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*PLAN_STATUSES, name="controlplanstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        *_bookkeeping(),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_control_plans_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["revisions.id"],
            name=op.f("fk_control_plans_revision_id_revisions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["lines.id"],
            name=op.f("fk_control_plans_line_id_lines"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_plans")),
        sa.UniqueConstraint(
            "product_id",
            "name",
            "plan_version",
            name=op.f("uq_control_plans_product_id_name_plan_version"),
        ),
    )
    op.create_index("ix_control_plans_product_id", "control_plans", ["product_id"])
    op.create_table(
        "gauges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        *_bookkeeping(),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_gauges_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_gauges_line_id_lines"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gauges")),
        sa.UniqueConstraint("name", name=op.f("uq_gauges_name")),
    )
    op.create_index("ix_gauges_product_id", "gauges", ["product_id"])
    op.create_index("uq_gauges_lower_name", "gauges", [sa.text("lower(name)")], unique=True)
    op.create_table(
        "control_plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("characteristic_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=300), nullable=False),
        sa.Column("gauge_id", sa.Integer(), nullable=True),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=200), nullable=False),
        sa.Column("frequency_every", sa.Integer(), nullable=True),
        sa.Column(
            "frequency_per",
            sa.Enum(*FREQUENCY_BASES, name="frequencybasis", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("chart_type", sa.String(length=20), nullable=True),
        sa.Column("reaction_plan", sa.Text(), nullable=False),
        *_bookkeeping(),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["control_plans.id"],
            name=op.f("fk_control_plan_items_plan_id_control_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_control_plan_items_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["characteristic_id"],
            ["characteristics.id"],
            name=op.f("fk_control_plan_items_characteristic_id_characteristics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["gauge_id"],
            ["gauges.id"],
            name=op.f("fk_control_plan_items_gauge_id_gauges"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_plan_items")),
    )
    op.create_index(
        "ix_control_plan_items_plan_id_station_id",
        "control_plan_items",
        ["plan_id", "station_id"],
    )
    op.create_index(
        "ix_control_plan_items_characteristic_id", "control_plan_items", ["characteristic_id"]
    )
    op.create_index("ix_control_plan_items_gauge_id", "control_plan_items", ["gauge_id"])
    op.create_table(
        "gage_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gauge_id", sa.Integer(), nullable=False),
        sa.Column("characteristic_id", sa.Integer(), nullable=False),
        sa.Column("studied_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("pct_grr_study_var", sa.Float(), nullable=True),
        sa.Column("pct_grr_tolerance", sa.Float(), nullable=True),
        sa.Column("ndc", sa.Integer(), nullable=True),
        sa.Column("repeatability", sa.Float(), nullable=False),
        sa.Column("reproducibility", sa.Float(), nullable=False),
        sa.Column("gage_rr", sa.Float(), nullable=False),
        sa.Column("part_to_part", sa.Float(), nullable=False),
        sa.Column("n_parts", sa.Integer(), nullable=False),
        sa.Column("n_operators", sa.Integer(), nullable=False),
        sa.Column("n_trials", sa.Integer(), nullable=False),
        sa.Column("tolerance", sa.Float(), nullable=True),
        sa.Column("study_multiplier", sa.Float(), nullable=False),
        sa.Column("readings", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["gauge_id"],
            ["gauges.id"],
            name=op.f("fk_gage_studies_gauge_id_gauges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["characteristic_id"],
            ["characteristics.id"],
            name=op.f("fk_gage_studies_characteristic_id_characteristics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gage_studies")),
    )
    op.create_index(
        "ix_gage_studies_gauge_id_characteristic_id",
        "gage_studies",
        ["gauge_id", "characteristic_id"],
    )
    op.create_index("ix_gage_studies_characteristic_id", "gage_studies", ["characteristic_id"])


def downgrade() -> None:
    op.drop_table("gage_studies")
    op.drop_table("control_plan_items")
    op.drop_index("uq_gauges_lower_name", table_name="gauges")
    op.drop_table("gauges")
    op.drop_table("control_plans")
