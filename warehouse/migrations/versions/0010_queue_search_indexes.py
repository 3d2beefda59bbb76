"""indexes for the queue at bank scale

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-04

A search of the queue by a whole phone or ID number is an exact match on the golden record:
without an index it read every customer (PostgreSQL: 550 ms at 100,000 customers). Due dates
and assignees (issue 15): the first screen counts a user's open work and what is overdue.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customer_mobile", "customer", ["mobile"])
    op.create_index("ix_customer_id_number", "customer", ["id_number"])
    op.create_index("ix_steward_task_due", "steward_task", ["status", "due_on"])


def downgrade() -> None:
    op.drop_index("ix_steward_task_due", table_name="steward_task")
    op.drop_index("ix_customer_id_number", table_name="customer")
    op.drop_index("ix_customer_mobile", table_name="customer")
