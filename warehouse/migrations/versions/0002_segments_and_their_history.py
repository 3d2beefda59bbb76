"""segments and their history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Adds `customer_segment.next_contact_due`, the `customer_segment_history` table (every move of a
customer between segments, with its date and rule version), the `rm_alert` table (alerts for
relationship managers, e.g. a large AUM change of a diamond customer), and recreates the
`customer_360` view with each current segment as a column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Current segments as columns (campaign lists stay rows of customer_segment: a customer can be
# on several). A pivot join rather than one subquery per column: one pass over the segments.
CUSTOMER_360_V2 = """
CREATE VIEW customer_360 AS
SELECT c.*,
       s.value_tier,
       s.contact_frequency,
       s.next_contact_due,
       s.value_quadrant,
       s.rfm_group,
       s.rfm_score,
       s.risk_profile,
       s.lifecycle_stage,
       s.churn_warning
FROM customer c
LEFT JOIN (
  SELECT customer_id,
         MAX(CASE WHEN segment_type = 'value_tier' THEN segment_value END) AS value_tier,
         MAX(CASE WHEN segment_type = 'contact_frequency' THEN segment_value END) AS contact_frequency,
         MAX(CASE WHEN segment_type = 'contact_frequency' THEN next_contact_due END) AS next_contact_due,
         MAX(CASE WHEN segment_type = 'value_quadrant' THEN segment_value END) AS value_quadrant,
         MAX(CASE WHEN segment_type = 'rfm' THEN segment_value END) AS rfm_group,
         MAX(CASE WHEN segment_type = 'rfm' THEN score END) AS rfm_score,
         MAX(CASE WHEN segment_type = 'risk_profile' THEN segment_value END) AS risk_profile,
         MAX(CASE WHEN segment_type = 'lifecycle_stage' THEN segment_value END) AS lifecycle_stage,
         MAX(CASE WHEN segment_type = 'churn_warning' THEN segment_value END) AS churn_warning
  FROM customer_segment
  GROUP BY customer_id
) s ON s.customer_id = c.customer_id
WHERE c.is_active
"""

CUSTOMER_360_V1 = """
CREATE VIEW customer_360 AS
SELECT c.*,
       (SELECT s.segment_value FROM customer_segment s
         WHERE s.customer_id = c.customer_id AND s.segment_type = 'value_tier') AS value_tier
FROM customer c
WHERE c.is_active
"""


def upgrade() -> None:
    op.execute("DROP VIEW customer_360")
    op.add_column("customer_segment", sa.Column("next_contact_due", sa.Date(), nullable=True))
    op.create_index(
        "ix_customer_segment_type_value", "customer_segment", ["segment_type", "segment_value"]
    )
    op.create_table(
        "customer_segment_history",
        sa.Column("history_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("segment_type", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.String(length=64), nullable=True),
        sa.Column("new_value", sa.String(length=64), nullable=True),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_version", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("history_id"),
    )
    op.create_index(
        "ix_customer_segment_history_type_on",
        "customer_segment_history",
        ["segment_type", "changed_on"],
    )
    op.create_index(
        "ix_customer_segment_history_customer", "customer_segment_history", ["customer_id"]
    )
    op.create_table(
        "rm_alert",
        sa.Column("alert_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_type", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("relationship_manager", sa.String(length=100), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("rule_version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("alert_id"),
    )
    op.create_index("ix_rm_alert_open", "rm_alert", ["status", "relationship_manager"])
    op.execute(CUSTOMER_360_V2)


def downgrade() -> None:
    op.execute("DROP VIEW customer_360")
    op.drop_index("ix_rm_alert_open", table_name="rm_alert")
    op.drop_table("rm_alert")
    op.drop_index("ix_customer_segment_history_customer", table_name="customer_segment_history")
    op.drop_index("ix_customer_segment_history_type_on", table_name="customer_segment_history")
    op.drop_table("customer_segment_history")
    op.drop_index("ix_customer_segment_type_value", table_name="customer_segment")
    with op.batch_alter_table("customer_segment") as batch_op:
        batch_op.drop_column("next_contact_due")
    op.execute(CUSTOMER_360_V1)
