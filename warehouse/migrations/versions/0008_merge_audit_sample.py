"""merge audit sample and stored scores

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

An audit of automatic merges (issue 15): each run draws some of the pairs it merged without a
steward, a `merge_audit` task each, and `merge_audit_sample` says which tasks a run drew (a pair
drawn again keeps the task an earlier run opened) and in which band of match weight.
What-if thresholds: `pipeline_run.score_histogram` keeps the weights of the run's pairs that a
threshold can move.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "merge_audit_sample",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("task_key", sa.String(length=300), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "task_key"),
    )
    with op.batch_alter_table("pipeline_run") as table:
        table.add_column(sa.Column("score_histogram", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_run") as table:
        table.drop_column("score_histogram")
    op.drop_table("merge_audit_sample")
