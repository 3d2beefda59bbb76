"""customer relationship

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

`customer_relationship`: two customers who are related but stay two people (SPEC §4), a
household or a phone or address in common, with the names of the fields that agree.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_relationship",
        sa.Column("relationship_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=16), nullable=False),
        sa.Column("related_customer_id", sa.String(length=16), nullable=False),
        sa.Column("relationship_type", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen_run_id", sa.String(length=36), nullable=False),
        sa.Column("last_seen_run_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("relationship_id"),
        sa.UniqueConstraint("customer_id", "related_customer_id", name="uq_customer_relationship"),
    )
    op.create_index(
        "ix_customer_relationship_related", "customer_relationship", ["related_customer_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_customer_relationship_related", table_name="customer_relationship")
    op.drop_table("customer_relationship")
