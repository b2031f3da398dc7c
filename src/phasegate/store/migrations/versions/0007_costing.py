"""Costing: parts with price breaks, BOMs per revision, material issues, rates and tooling.

The cost of a unit is rolled up from these (``phasegate.costing``, ``services/costing.py``):

- ``parts``: purchased parts with a standard cost, unique by number whatever its case;
- ``part_price_breaks``: from a quantity bought, a part's unit cost;
- ``bom_lines``: per revision, a part's quantity per unit and scrap allowance;
- ``material_issues``: parts issued to a build, for the variance against the BOM standard;
- ``line_cost_rates``: a line's labor rate per hour and overhead rate (fraction of labor);
- ``station_labor_rates``: operators per station and a station's own labor rate;
- ``tooling_investments``: a product's tooling and the volume it is amortised over.

Revision ID: 0007_costing
Revises: 0006_characteristic_passed
Create Date: 2026-12-02 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_costing"
down_revision: str | None = "0006_characteristic_passed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _bookkeeping() -> list[sa.Column[object]]:
    """The id, version and timestamps of a record callers change."""
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.Constraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "parts",
        *_bookkeeping(),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("standard_cost", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("number", name=op.f("uq_parts_number")),
    )
    op.create_index("uq_parts_lower_number", "parts", [sa.text("lower(number)")], unique=True)
    op.create_table(
        "part_price_breaks",
        *_bookkeeping(),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("min_quantity", sa.Float(), nullable=False),
        sa.Column("unit_cost", sa.Float(), nullable=False),
        _fk("part_price_breaks", "part_id", "parts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_part_price_breaks")),
        sa.UniqueConstraint(
            "part_id", "min_quantity", name=op.f("uq_part_price_breaks_part_id_min_quantity")
        ),
    )
    op.create_table(
        "bom_lines",
        *_bookkeeping(),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("quantity_per_unit", sa.Float(), nullable=False),
        sa.Column("scrap_allowance", sa.Float(), nullable=False),
        _fk("bom_lines", "product_id", "products", "CASCADE"),
        _fk("bom_lines", "revision_id", "revisions", "CASCADE"),
        _fk("bom_lines", "part_id", "parts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bom_lines")),
        sa.UniqueConstraint(
            "revision_id", "part_id", name=op.f("uq_bom_lines_revision_id_part_id")
        ),
    )
    op.create_index("ix_bom_lines_product_id", "bom_lines", ["product_id"])
    op.create_index("ix_bom_lines_part_id", "bom_lines", ["part_id"])
    op.create_table(
        "material_issues",
        *_bookkeeping(),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        _fk("material_issues", "build_id", "builds", "CASCADE"),
        _fk("material_issues", "part_id", "parts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_issues")),
    )
    op.create_index("ix_material_issues_build_id", "material_issues", ["build_id"])
    op.create_index("ix_material_issues_part_id", "material_issues", ["part_id"])
    op.create_table(
        "line_cost_rates",
        *_bookkeeping(),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("labor_rate_per_hour", sa.Float(), nullable=False),
        sa.Column("overhead_rate", sa.Float(), nullable=False),
        _fk("line_cost_rates", "line_id", "lines", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_cost_rates")),
        sa.UniqueConstraint("line_id", name=op.f("uq_line_cost_rates_line_id")),
    )
    op.create_table(
        "station_labor_rates",
        *_bookkeeping(),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("operators", sa.Float(), nullable=False),
        sa.Column("labor_rate_per_hour", sa.Float(), nullable=True),
        _fk("station_labor_rates", "station_id", "stations", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_labor_rates")),
        sa.UniqueConstraint("station_id", name=op.f("uq_station_labor_rates_station_id")),
    )
    op.create_table(
        "tooling_investments",
        *_bookkeeping(),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("amortisation_volume", sa.Integer(), nullable=False),
        _fk("tooling_investments", "product_id", "products", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tooling_investments")),
        sa.UniqueConstraint(
            "product_id", "name", name=op.f("uq_tooling_investments_product_id_name")
        ),
    )


def downgrade() -> None:
    op.drop_table("tooling_investments")
    op.drop_table("station_labor_rates")
    op.drop_table("line_cost_rates")
    op.drop_index("ix_material_issues_part_id", table_name="material_issues")
    op.drop_index("ix_material_issues_build_id", table_name="material_issues")
    op.drop_table("material_issues")
    op.drop_index("ix_bom_lines_part_id", table_name="bom_lines")
    op.drop_index("ix_bom_lines_product_id", table_name="bom_lines")
    op.drop_table("bom_lines")
    op.drop_table("part_price_breaks")
    op.drop_index("uq_parts_lower_number", table_name="parts")
    op.drop_table("parts")
