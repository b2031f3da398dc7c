"""Indexes for a build's unit list and unit counts, so the build page does not sort or read
every unit of a large build.

Measured with ``benchmarks/bench_pages.py`` on a production build of 50,000 units: the build's
unit list was sorted by serial from all its units for every page, and its units counted by
allocation by reading each unit's row, so the build page and the unit list grew with the build.

- ``ix_units_build_id_serial`` (build_id, serial): the unit list in serial order, a page of it
  read from the index, and the serial search of the list scanning the index, not the table;
- ``ix_units_build_id_status_allocation`` (build_id, status, allocation) takes the place of
  ``ix_units_build_id_status`` (build_id, status): it still finds a build's units of one
  status, and the build's units counted by status and allocation are read from the index alone.

Revision ID: 0003_unit_lists
Revises: 0002_writes
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_unit_lists"
down_revision: str | None = "0002_writes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_units_build_id_serial", "units", ["build_id", "serial"])
    op.create_index(
        "ix_units_build_id_status_allocation", "units", ["build_id", "status", "allocation"]
    )
    op.drop_index("ix_units_build_id_status", table_name="units")


def downgrade() -> None:
    op.create_index("ix_units_build_id_status", "units", ["build_id", "status"])
    op.drop_index("ix_units_build_id_status_allocation", table_name="units")
    op.drop_index("ix_units_build_id_serial", table_name="units")
