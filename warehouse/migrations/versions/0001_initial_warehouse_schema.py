"""initial warehouse schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Also creates the customer_360 view: one row per active golden customer with its
current value tier as a column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer",
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("quality_score", sa.Float(), nullable=False),
        sa.Column("count_sources", sa.Integer(), nullable=False),
        sa.Column("field_sources", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_id", sa.String(length=36), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("family_name", sa.String(length=100), nullable=True),
        sa.Column("given_name", sa.String(length=100), nullable=True),
        sa.Column("gender", sa.String(length=1), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("id_type", sa.String(length=16), nullable=True),
        sa.Column("id_number", sa.String(length=40), nullable=True),
        sa.Column("mobile", sa.String(length=32), nullable=True),
        sa.Column("phone_other", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("province", sa.String(length=64), nullable=True),
        sa.Column("city", sa.String(length=64), nullable=True),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("postal_code", sa.String(length=16), nullable=True),
        sa.Column("occupation", sa.String(length=200), nullable=True),
        sa.Column("employer", sa.String(length=200), nullable=True),
        sa.Column("education", sa.String(length=100), nullable=True),
        sa.Column("aum_cny", sa.Numeric(precision=18, scale=2, asdecimal=False), nullable=True),
        sa.Column("risk_level", sa.String(length=2), nullable=True),
        sa.Column("risk_assessed_on", sa.Date(), nullable=True),
        sa.Column("product_risk_max", sa.String(length=2), nullable=True),
        sa.Column("products_held", sa.Text(), nullable=True),
        sa.Column("last_txn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("txn_count_12m", sa.Integer(), nullable=True),
        sa.Column(
            "txn_amount_12m_cny",
            sa.Numeric(precision=18, scale=2, asdecimal=False),
            nullable=True,
        ),
        sa.Column("relationship_manager", sa.String(length=100), nullable=True),
        sa.Column("branch_code", sa.String(length=32), nullable=True),
        sa.Column("preferred_contact", sa.String(length=32), nullable=True),
        sa.Column("marketing_consent", sa.Boolean(), nullable=True),
        sa.Column("do_not_disturb", sa.Boolean(), nullable=True),
        sa.Column("list_flag", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "customer_history",
        sa.Column("history_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("history_id"),
    )
    with op.batch_alter_table("customer_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_history_customer_id",
            ["customer_id", "valid_from"],
            unique=False,
        )

    op.create_table(
        "customer_segment",
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("segment_type", sa.String(length=32), nullable=False),
        sa.Column("segment_value", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rule_version", sa.String(length=64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "segment_type"),
    )
    op.create_table(
        "pipeline_run",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sources_dir", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("match_parameters", sa.JSON(), nullable=True),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "quarantine",
        sa.Column("quarantine_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("source_system", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=True),
        sa.Column("source_file", sa.String(length=512), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("raw_payload", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("quarantine_id"),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_run", ["run_id"], unique=False)

    op.create_table(
        "source_record",
        sa.Column("source_system", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("source_file", sa.String(length=512), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("source_system", "source_record_id"),
    )
    op.create_table(
        "steward_decision",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.JSON(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_table(
        "steward_task",
        sa.Column("task_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("task_key", sa.String(length=300), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=True),
        sa.Column("source_system", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("task_id"),
        sa.UniqueConstraint("task_key"),
    )
    with op.batch_alter_table("steward_task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_steward_task_open", ["status", "task_type", "created_at"], unique=False
        )

    op.create_table(
        "customer_xref",
        sa.Column("source_system", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("match_score", sa.Float(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.customer_id"],
        ),
        sa.PrimaryKeyConstraint("source_system", "source_record_id"),
    )
    with op.batch_alter_table("customer_xref", schema=None) as batch_op:
        batch_op.create_index("ix_customer_xref_customer_id", ["customer_id"], unique=False)
    op.execute(CUSTOMER_360_V1)


CUSTOMER_360_V1 = """
CREATE VIEW customer_360 AS
SELECT c.*,
       (SELECT s.segment_value FROM customer_segment s
         WHERE s.customer_id = c.customer_id AND s.segment_type = 'value_tier') AS value_tier
FROM customer c
WHERE c.is_active
"""


def downgrade() -> None:
    op.execute("DROP VIEW customer_360")
    with op.batch_alter_table("customer_xref", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_xref_customer_id")

    op.drop_table("customer_xref")
    with op.batch_alter_table("steward_task", schema=None) as batch_op:
        batch_op.drop_index("ix_steward_task_open")

    op.drop_table("steward_task")
    op.drop_table("steward_decision")
    op.drop_table("source_record")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_run")

    op.drop_table("quarantine")
    op.drop_table("pipeline_run")
    op.drop_table("customer_segment")
    with op.batch_alter_table("customer_history", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_history_customer_id")

    op.drop_table("customer_history")
    op.drop_table("customer")
