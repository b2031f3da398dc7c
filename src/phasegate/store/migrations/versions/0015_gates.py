"""Stage gates: the gate evidence and gate workflow migrations, written side by side from 0012,
joined into one line of history again.

Nothing changes in the schema; after this revision there is one head.

Revision ID: 0015_gates
Revises: 0013_gate_evidence, 0014_gate_workflow
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

revision: str = "0015_gates"
down_revision: tuple[str, ...] = ("0013_gate_evidence", "0014_gate_workflow")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the merge joins the branches."""


def downgrade() -> None:
    """Nothing to undo: below this revision the branches stand apart again."""
