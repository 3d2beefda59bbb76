"""indexed match keys and term frequencies

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-04

An incremental run (issue 13) reads only its delta's neighbourhood: `record_match_key` holds
each stored record's match keys (mdm/matching/keys.py) as int64 columns with a partial index per
blocking key, and `term_frequency` how many records hold each name, pinyin, birth date and city
(by hash). Both start empty: the first run after this revision reads the whole warehouse as
before and its load fills them (warehouse/load/match_keys.py); later runs keep them up to date.
`segment_calendar` holds the date the stored segments are as of (set by every run's load, moved
by `mdm segments refresh`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision (mdm/matching/keys.py KEY_SCHEME 3); a later scheme migrates on its own.
BLOCKING_KEYS = (
    "id_number",
    "id17",
    "id_stub",
    "mobile",
    "mobile_digits_surname",
    "email",
    "name_birth_year",
    "name_city",
    "surname_birth_date",
    "birth_date_city",
    "address",
    "family_sound_city",
    "latin_name_birth_date",
    "latin_name_sound",
    "postcode_family_sound",
)
VALUE_KEYS = ("value_name", "value_pinyin", "value_birth_date", "value_city")


def upgrade() -> None:
    op.create_table(
        "record_match_key",
        sa.Column("source_system", sa.String(length=64), nullable=False),
        sa.Column("source_record_id", sa.String(length=128), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in BLOCKING_KEYS + VALUE_KEYS),
        sa.PrimaryKeyConstraint("source_system", "source_record_id"),
    )
    for name in BLOCKING_KEYS:
        op.create_index(
            f"ix_record_match_key_{name}",
            "record_match_key",
            [name],
            sqlite_where=sa.column(name) != 0,
            postgresql_where=sa.column(name) != 0,
        )
    op.create_table(
        "term_frequency",
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value_hash", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("field", "value_hash"),
    )

    op.create_table(
        "segment_calendar",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("segment_calendar")
    op.drop_table("term_frequency")
    for name in BLOCKING_KEYS:
        op.drop_index(f"ix_record_match_key_{name}", table_name="record_match_key")
    op.drop_table("record_match_key")
