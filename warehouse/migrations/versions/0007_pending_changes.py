"""pending changes and a queue at bank scale

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Maker-checker (issue 15): merges, splits and value changes of high-tier customers, and large
bulk actions, wait in `pending_change` until a second steward approves them. A task whose
decision waits there has the status `pending`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_change",
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=True),
        sa.Column("task_ids", sa.JSON(), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("needs_approval_because", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("checked_by", sa.String(length=100), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("change_id"),
    )
    op.create_index("ix_pending_change_status", "pending_change", ["status", "requested_at"])
    with op.batch_alter_table("steward_task") as table:
        table.add_column(sa.Column("rule", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("assigned_to", sa.String(length=100), nullable=True))
        table.add_column(sa.Column("due_on", sa.Date(), nullable=True))
    op.create_index("ix_steward_task_rule", "steward_task", ["status", "task_type", "rule"])
    op.create_index("ix_steward_task_assigned", "steward_task", ["status", "assigned_to", "due_on"])
    op.create_index("ix_customer_branch_code", "customer", ["branch_code"])
    op.create_index("ix_customer_relationship_manager", "customer", ["relationship_manager"])


def downgrade() -> None:
    op.drop_index("ix_customer_relationship_manager", table_name="customer")
    op.drop_index("ix_customer_branch_code", table_name="customer")
    op.drop_index("ix_steward_task_assigned", table_name="steward_task")
    op.drop_index("ix_steward_task_rule", table_name="steward_task")
    with op.batch_alter_table("steward_task") as table:
        table.drop_column("due_on")
        table.drop_column("assigned_to")
        table.drop_column("rule")
    op.drop_index("ix_pending_change_status", table_name="pending_change")
    op.drop_table("pending_change")
