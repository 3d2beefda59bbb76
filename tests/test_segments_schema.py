"""Migration 0002 and the models agree, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from warehouse.db import create_warehouse_engine, migrate
from warehouse.models import Base

TABLES = {"customer_segment", "customer_segment_history", "rm_alert"}


def test_segment_tables_match_their_models(warehouse_url: str) -> None:
    engine = create_warehouse_engine(warehouse_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            columns = {c["name"] for c in sa.inspect(connection).get_columns("customer_360")}
    finally:
        engine.dispose()

    def tables_named(diff: object) -> set[str]:
        """Every table a diff mentions: by name, or through its Table, Column or Index."""
        parts = diff if isinstance(diff, list) else [diff]
        names: set[str] = set()
        for part in parts:
            for item in part if isinstance(part, tuple) else (part,):
                if isinstance(item, str):
                    names.add(item)
                elif isinstance(item, sa.Table):
                    names.add(item.name)
                elif getattr(item, "table", None) is not None:
                    names.add(item.table.name)
        return names

    assert [d for d in diffs if tables_named(d) & TABLES] == []
    assert {"value_tier", "rfm_group", "lifecycle_stage", "next_contact_due"} <= columns
