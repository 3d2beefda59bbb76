"""stewardship and the workbench

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Workbench users and their sessions, and the indexes the steward queue and audit trail read by:
the queue lists open tasks by priority and age (100,000 open tasks answer in milliseconds), a
customer page lists its tasks and decisions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workbench_user",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "workbench_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["workbench_user.username"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_workbench_session_username", "workbench_session", ["username"])
    op.create_index(
        "ix_steward_task_queue", "steward_task", ["status", "priority", "created_at", "task_id"]
    )
    op.create_index("ix_steward_task_age", "steward_task", ["status", "created_at", "task_id"])
    op.create_index(
        "ix_steward_task_channel",
        "steward_task",
        ["status", "source_system", "created_at", "task_id"],
    )
    op.create_index(
        "ix_steward_task_customer", "steward_task", ["customer_id", "status", "created_at"]
    )
    op.create_index("ix_steward_decision_task", "steward_decision", ["task_id"])


def downgrade() -> None:
    op.drop_index("ix_steward_decision_task", table_name="steward_decision")
    op.drop_index("ix_steward_task_customer", table_name="steward_task")
    op.drop_index("ix_steward_task_channel", table_name="steward_task")
    op.drop_index("ix_steward_task_age", table_name="steward_task")
    op.drop_index("ix_steward_task_queue", table_name="steward_task")
    op.drop_index("ix_workbench_session_username", table_name="workbench_session")
    op.drop_table("workbench_session")
    op.drop_table("workbench_user")
