"""Core domain: products, revisions, requirements, characteristics, partners, lines and
stations, builds, units, station passes, test runs, measurements with their running aggregates,
defects, findings, feedback, gate decisions and the audit trail.

The first schema of phasegate; everything later builds on it.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-25 09:07:14.945660
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_core"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "defect_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defect_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_defect_codes_code")),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "prototype_shop",
                "contract_manufacturer",
                "supplier",
                "test_lab",
                "in_house",
                name="partnerkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("phases_served", sa.JSON(), nullable=False),
        sa.Column("country", sa.String(length=80), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_partners_name")),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "phase",
            sa.Enum("prototype", "pilot", "production", name="phase", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("target_unit_cost", sa.Float(), nullable=True),
        sa.Column("target_annual_volume", sa.Integer(), nullable=True),
        sa.Column("target_launch_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("key", name=op.f("uq_products_key")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_phase"), ["phase"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "create",
                "update",
                "delete",
                "decision",
                "import",
                name="auditaction",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("entity_type", sa.String(length=60), nullable=False),
        sa.Column("entity_id", sa.BigInteger(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.String(length=400), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_audit_events_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_events_entity_type_entity_id", ["entity_type", "entity_id"], unique=False
        )
        batch_op.create_index(
            "ix_audit_events_product_id_occurred_at", ["product_id", "occurred_at"], unique=False
        )

    op.create_table(
        "gate_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_phase",
            sa.Enum("prototype", "pilot", "production", name="phase", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "to_phase",
            sa.Enum("prototype", "pilot", "production", name="phase", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "outcome",
            sa.Enum("go", "no_go", "conditional", name="gateoutcome", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_gate_decisions_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_decisions")),
    )
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gate_decisions_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_lines_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lines")),
        sa.UniqueConstraint("name", name=op.f("uq_lines_name")),
    )
    op.create_table(
        "requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "priority",
            sa.Enum(
                "must", "should", "could", "wont", name="priority", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum(
                "customer",
                "market",
                "regulatory",
                "internal",
                "engineering",
                "manufacturing",
                name="requirementsource",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "accepted",
                "implemented",
                "verified",
                "rejected",
                name="requirementstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rice_reach", sa.Float(), nullable=True),
        sa.Column("rice_impact", sa.Float(), nullable=True),
        sa.Column("rice_confidence", sa.Float(), nullable=True),
        sa.Column("rice_effort", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_requirements_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requirements")),
        sa.UniqueConstraint("product_id", "key", name=op.f("uq_requirements_product_id_key")),
    )
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "released", "obsolete", name="revisionstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_revisions_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
        sa.UniqueConstraint("product_id", "code", name=op.f("uq_revisions_product_id_code")),
    )
    op.create_table(
        "builds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column(
            "phase",
            sa.Enum("prototype", "pilot", "production", name="phase", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "completed",
                "cancelled",
                name="buildstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "fidelity",
            sa.Enum("low", "high", name="fidelity", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column(
            "technique",
            sa.Enum(
                "3d_print",
                "cnc",
                "hand_built",
                "soft_tooling",
                "vacuum_casting",
                "sheet_metal",
                "injection_molding",
                "pcb_assembly",
                name="technique",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("planned_quantity", sa.Integer(), nullable=False),
        sa.Column("actual_quantity", sa.Integer(), nullable=True),
        sa.Column("budget", sa.Float(), nullable=True),
        sa.Column("actual_cost", sa.Float(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"], name=op.f("fk_builds_line_id_lines")),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_builds_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_builds_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["revisions.id"], name=op.f("fk_builds_revision_id_revisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_builds")),
        sa.UniqueConstraint("product_id", "code", name=op.f("uq_builds_product_id_code")),
    )
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("equipment", sa.String(length=200), nullable=False),
        sa.Column("servers", sa.Integer(), nullable=False),
        sa.Column("planned_cycle_time_s", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"], ["lines.id"], name=op.f("fk_stations_line_id_lines"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
        sa.UniqueConstraint("line_id", "name", name=op.f("uq_stations_line_id_name")),
        sa.UniqueConstraint("line_id", "sequence", name=op.f("uq_stations_line_id_sequence")),
    )
    op.create_table(
        "build_station_stats",
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("passes", sa.BigInteger(), nullable=False),
        sa.Column("first_attempts", sa.BigInteger(), nullable=False),
        sa.Column("first_pass_ok", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("cycle_time_count", sa.BigInteger(), nullable=False),
        sa.Column("cycle_time_total_s", sa.Float(), nullable=False),
        sa.Column("cycle_time_total_sq", sa.Float(), nullable=False),
        sa.Column("cycle_time_min_s", sa.Float(), nullable=True),
        sa.Column("cycle_time_max_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["builds.id"],
            name=op.f("fk_build_station_stats_build_id_builds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_build_station_stats_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("build_id", "station_id", name=op.f("pk_build_station_stats")),
    )
    op.create_table(
        "characteristics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("lsl", sa.Float(), nullable=True),
        sa.Column("usl", sa.Float(), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("ctq", sa.Boolean(), nullable=False),
        sa.Column("requirement_id", sa.Integer(), nullable=True),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_characteristics_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requirement_id"],
            ["requirements.id"],
            name=op.f("fk_characteristics_requirement_id_requirements"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_characteristics_station_id_stations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_characteristics")),
        sa.UniqueConstraint("product_id", "name", name=op.f("uq_characteristics_product_id_name")),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("build_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "design_flaw",
                "material_weakness",
                "manufacturing_challenge",
                "quality",
                "supply",
                "cost",
                "usability",
                name="findingcategory",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "critical",
                "major",
                "minor",
                "cosmetic",
                name="severity",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "investigating",
                "fixed",
                "verified",
                "closed",
                "wont_fix",
                name="findingstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("owner", sa.String(length=120), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("corrective_action", sa.Text(), nullable=False),
        sa.Column("fixed_in_revision_id", sa.Integer(), nullable=True),
        sa.Column("opened_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["builds.id"],
            name=op.f("fk_findings_build_id_builds"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["fixed_in_revision_id"],
            ["revisions.id"],
            name=op.f("fk_findings_fixed_in_revision_id_revisions"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_findings_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["revisions.id"], name=op.f("fk_findings_revision_id_revisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_findings_product_id_status", ["product_id", "status"], unique=False
        )

    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "in_process",
                "passed",
                "failed",
                "rework",
                "scrapped",
                "shipped",
                "returned",
                name="unitstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "allocation",
            sa.Enum(
                "unallocated",
                "testing",
                "marketing",
                "regulatory",
                "engineering",
                "customer",
                name="allocation",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"], ["builds.id"], name=op.f("fk_units_build_id_builds"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_units_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("product_id", "serial", name=op.f("uq_units_product_id_serial")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index("ix_units_build_id_status", ["build_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_units_serial"), ["serial"], unique=False)

    op.create_table(
        "build_characteristic_stats",
        sa.Column("build_id", sa.Integer(), nullable=False),
        sa.Column("characteristic_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("total_sq", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=True),
        sa.Column("maximum", sa.Float(), nullable=True),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("below_lsl", sa.BigInteger(), nullable=False),
        sa.Column("above_usl", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["builds.id"],
            name=op.f("fk_build_characteristic_stats_build_id_builds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["characteristic_id"],
            ["characteristics.id"],
            name=op.f("fk_build_characteristic_stats_characteristic_id_characteristics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "build_id", "characteristic_id", name=op.f("pk_build_characteristic_stats")
        ),
    )
    op.create_table(
        "defects",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("defect_code_id", sa.Integer(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "critical",
                "major",
                "minor",
                "cosmetic",
                name="severity",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "disposition",
            sa.Enum(
                "pending",
                "rework",
                "scrap",
                "use_as_is",
                "return_to_vendor",
                name="disposition",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["defect_code_id"],
            ["defect_codes.id"],
            name=op.f("fk_defects_defect_code_id_defect_codes"),
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_defects_station_id_stations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_defects_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_defects")),
    )
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_defects_defect_code_id_found_at", ["defect_code_id", "found_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_defects_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("requirement_id", sa.Integer(), nullable=True),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "tester",
                "pilot_user",
                "customer",
                "internal",
                "field",
                name="feedbacksource",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_feedback_finding_id_findings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_feedback_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requirement_id"],
            ["requirements.id"],
            name=op.f("fk_feedback_requirement_id_requirements"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["revisions.id"], name=op.f("fk_feedback_revision_id_revisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_product_id"), ["product_id"], unique=False)

    op.create_table(
        "station_passes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("operator", sa.String(length=80), nullable=False),
        sa.Column(
            "result",
            sa.Enum(
                "pass",
                "fail",
                "error",
                "aborted",
                "unset",
                name="outcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_station_passes_station_id_stations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_station_passes_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_passes")),
    )
    with op.batch_alter_table("station_passes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_station_passes_station_id_started_at", ["station_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_station_passes_unit_id_started_at", ["unit_id", "started_at"], unique=False
        )

    op.create_table(
        "test_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("procedure", sa.String(length=200), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "pass",
                "fail",
                "error",
                "aborted",
                "unset",
                name="outcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("operator", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["stations.id"],
            name=op.f("fk_test_runs_station_id_stations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_test_runs_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_runs")),
        sa.UniqueConstraint("source_id", name=op.f("uq_test_runs_source_id")),
    )
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_test_runs_unit_id_started_at", ["unit_id", "started_at"], unique=False
        )

    op.create_table(
        "measurements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "test_run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("characteristic_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("text_value", sa.String(length=400), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("lsl", sa.Float(), nullable=True),
        sa.Column("usl", sa.Float(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "pass",
                "fail",
                "error",
                "aborted",
                "unset",
                name="outcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["characteristic_id"],
            ["characteristics.id"],
            name=op.f("fk_measurements_characteristic_id_characteristics"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["test_run_id"],
            ["test_runs.id"],
            name=op.f("fk_measurements_test_run_id_test_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_measurements_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurements")),
    )
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_measurements_characteristic_id_measured_at",
            ["characteristic_id", "measured_at"],
            unique=False,
        )
        batch_op.create_index("ix_measurements_test_run_id", ["test_run_id"], unique=False)
        batch_op.create_index("ix_measurements_unit_id", ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("measurements", schema=None) as batch_op:
        batch_op.drop_index("ix_measurements_unit_id")
        batch_op.drop_index("ix_measurements_test_run_id")
        batch_op.drop_index("ix_measurements_characteristic_id_measured_at")

    op.drop_table("measurements")
    with op.batch_alter_table("test_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_test_runs_unit_id_started_at")

    op.drop_table("test_runs")
    with op.batch_alter_table("station_passes", schema=None) as batch_op:
        batch_op.drop_index("ix_station_passes_unit_id_started_at")
        batch_op.drop_index("ix_station_passes_station_id_started_at")

    op.drop_table("station_passes")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_product_id"))

    op.drop_table("feedback")
    with op.batch_alter_table("defects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_defects_unit_id"))
        batch_op.drop_index("ix_defects_defect_code_id_found_at")

    op.drop_table("defects")
    op.drop_table("build_characteristic_stats")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_serial"))
        batch_op.drop_index("ix_units_build_id_status")

    op.drop_table("units")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_product_id_status")

    op.drop_table("findings")
    op.drop_table("characteristics")
    op.drop_table("build_station_stats")
    op.drop_table("stations")
    op.drop_table("builds")
    op.drop_table("revisions")
    op.drop_table("requirements")
    op.drop_table("lines")
    with op.batch_alter_table("gate_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_decisions_product_id"))

    op.drop_table("gate_decisions")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_product_id_occurred_at")
        batch_op.drop_index("ix_audit_events_entity_type_entity_id")

    op.drop_table("audit_events")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_phase"))

    op.drop_table("products")
    op.drop_table("partners")
    op.drop_table("defect_codes")
