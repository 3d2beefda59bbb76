"""indexes for the queue at bank scale

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-04

A search of the queue by a whole phone or ID number is an exact match on the golden record:
without an index it read every customer (PostgreSQL: 550 ms at 100,000 customers). The
queue's first screen (issue 15) counts open tasks by type and rule, overdue and due today in
one pass over ix_steward_task_summary, which holds the due date beside the type and rule
(and replaces ix_steward_task_rule, its prefix); tasks due today are found by their date.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customer_mobile", "customer", ["mobile"])
    op.create_index("ix_customer_id_number", "customer", ["id_number"])
    op.create_index("ix_steward_task_due", "steward_task", ["status", "due_on"])
    op.create_index(
        "ix_steward_task_summary", "steward_task", ["status", "task_type", "rule", "due_on"]
    )
    op.drop_index("ix_steward_task_rule", table_name="steward_task")


def downgrade() -> None:
    op.create_index("ix_steward_task_rule", "steward_task", ["status", "task_type", "rule"])
    op.drop_index("ix_steward_task_summary", table_name="steward_task")
    op.drop_index("ix_steward_task_due", table_name="steward_task")
    op.drop_index("ix_customer_id_number", table_name="customer")
    op.drop_index("ix_customer_mobile", table_name="customer")
