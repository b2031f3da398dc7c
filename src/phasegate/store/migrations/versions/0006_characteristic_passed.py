"""The per-(build, characteristic) aggregate counts passed outcomes too.

``build_characteristic_stats.passed``: measurements whose outcome is ``pass``, kept at ingest
like ``failed``, so a summary of passed and failed reads the aggregate alone. Rows already
there are filled from the measurements.

Revision ID: 0006_characteristic_passed
Revises: 0005_ingest
Create Date: 2026-12-02 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_characteristic_passed"
down_revision: str | None = "0005_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("build_characteristic_stats") as batch:
        batch.add_column(
            sa.Column("passed", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
    op.execute(
        "UPDATE build_characteristic_stats SET passed = ("
        "SELECT count(*) FROM measurements m JOIN units u ON u.id = m.unit_id "
        "WHERE u.build_id = build_characteristic_stats.build_id "
        "AND m.characteristic_id = build_characteristic_stats.characteristic_id "
        "AND m.outcome = 'pass')"
    )


def downgrade() -> None:
    with op.batch_alter_table("build_characteristic_stats") as batch:
        batch.drop_column("passed")
