"""stored match keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Each source record's blocking keys and term-frequency values as hashes (mdm/matching/keys.py),
so that an incremental run finds a new record's neighbours without recomputing every stored
record's keys. Nullable: records stored before this revision get their keys on the next run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("source_record") as batch:
        batch.add_column(sa.Column("match_keys", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_record") as batch:
        batch.drop_column("match_keys")
