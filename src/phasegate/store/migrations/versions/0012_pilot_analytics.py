"""Pilot analytics: the costing, line calendar, control plan and unit count migrations, which
were written side by side from 0006, joined into one line of history again.

Nothing changes in the schema; after this revision there is one head.

Revision ID: 0012_pilot_analytics
Revises: 0007_costing, 0008_line_calendar, 0010_control_plan, 0011_unit_counts
Create Date: 2026-12-02 05:00:00
"""

from collections.abc import Sequence

revision: str = "0012_pilot_analytics"
down_revision: tuple[str, ...] = (
    "0007_costing",
    "0008_line_calendar",
    "0010_control_plan",
    "0011_unit_counts",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the merge joins the branches."""


def downgrade() -> None:
    """Nothing to undo: below this revision the branches stand apart again."""
