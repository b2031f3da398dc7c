"""The gate decision workflow: reviews with frozen evidence, sign-offs, waivers, action items.

A product used to change phase whenever someone with the right to decide posted a "go". Now a
gate decision is prepared in a review (``gate_reviews``): it is opened from the current
evaluation, whose criteria, plan version and data extent it freezes; each required role signs
it off (``gate_signoffs``, one per role); a criterion may be waived with a written reason
(``gate_waivers``, one per criterion); a conditional go names its conditions as action items
with an owner and a due date (``gate_action_items``). Deciding the review records the
``gate_decisions`` row it links to. At most one review per gate of a product is open.

Revision ID: 0014_gate_workflow
Revises: 0012_pilot_analytics
Create Date: 2026-12-02 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_gate_workflow"
down_revision: str | None = "0012_pilot_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHASES = ("prototype", "pilot", "production")
OUTCOMES = ("go", "no_go", "conditional")
ROLES = ("admin", "engineer", "quality", "operations", "product", "viewer", "partner")


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    """Create the four tables of the workflow."""
    op.create_table(
        "gate_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("from_phase", _enum("phase", PHASES), nullable=False),
        sa.Column("to_phase", _enum("phase", PHASES), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("plan_name", sa.String(length=120), nullable=False),
        sa.Column("plan_version", sa.String(length=120), nullable=False),
        sa.Column("suggestion", _enum("gateoutcome", OUTCOMES), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_gate_reviews_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["gate_decisions.id"],
            name=op.f("fk_gate_reviews_decision_id_gate_decisions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_reviews")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_gate_reviews_decision_id")),
    )
    op.create_index(op.f("ix_gate_reviews_product_id"), "gate_reviews", ["product_id"])
    open_only = sa.text("status = 'open'")
    op.create_index(
        "uq_gate_reviews_product_id_to_phase",
        "gate_reviews",
        ["product_id", "to_phase"],
        unique=True,
        sqlite_where=open_only,
        postgresql_where=open_only,
    )
    op.create_table(
        "gate_signoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("role", _enum("role", ROLES), nullable=False),
        sa.Column("signed_by", sa.String(length=120), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["gate_reviews.id"],
            name=op.f("fk_gate_signoffs_review_id_gate_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_signoffs")),
        sa.UniqueConstraint("review_id", "role", name=op.f("uq_gate_signoffs_review_id_role")),
    )
    op.create_table(
        "gate_waivers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("waived_by", sa.String(length=120), nullable=False),
        sa.Column("role", _enum("role", ROLES), nullable=False),
        sa.Column("waived_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["gate_reviews.id"],
            name=op.f("fk_gate_waivers_review_id_gate_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_waivers")),
        sa.UniqueConstraint(
            "review_id", "criterion_id", name=op.f("uq_gate_waivers_review_id_criterion_id")
        ),
    )
    op.create_table(
        "gate_action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["gate_reviews.id"],
            name=op.f("fk_gate_action_items_review_id_gate_reviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_gate_action_items_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_action_items")),
    )
    op.create_index(op.f("ix_gate_action_items_review_id"), "gate_action_items", ["review_id"])
    op.create_index(op.f("ix_gate_action_items_product_id"), "gate_action_items", ["product_id"])


def downgrade() -> None:
    """Drop the four tables, the ones that refer to reviews first."""
    op.drop_table("gate_action_items")
    op.drop_table("gate_waivers")
    op.drop_table("gate_signoffs")
    op.drop_index("uq_gate_reviews_product_id_to_phase", table_name="gate_reviews")
    op.drop_table("gate_reviews")
