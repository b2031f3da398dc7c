"""A line has a working calendar: shifts per day, hours per shift, working days per year.

The takt time of a product made on a line is the line's available production time over the
product's annual demand; these three columns give the available time. Lines already there get
one 8-hour shift on 250 days a year.

Revision ID: 0008_line_calendar
Revises: 0006_characteristic_passed
Create Date: 2026-12-02 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_line_calendar"
down_revision: str | None = "0006_characteristic_passed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lines") as batch:
        batch.add_column(
            sa.Column("shifts_per_day", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
        batch.add_column(
            sa.Column("hours_per_shift", sa.Float(), nullable=False, server_default=sa.text("8"))
        )
        batch.add_column(
            sa.Column("days_per_year", sa.Integer(), nullable=False, server_default=sa.text("250"))
        )


def downgrade() -> None:
    with op.batch_alter_table("lines") as batch:
        batch.drop_column("days_per_year")
        batch.drop_column("hours_per_shift")
        batch.drop_column("shifts_per_day")
