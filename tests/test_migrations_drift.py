"""The migrations build exactly the tables the models describe, every table, on SQLite and
PostgreSQL: a column or index added to a model without a migration fails here."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from warehouse.db import create_warehouse_engine, migrate
from warehouse.models import Base


def test_migrations_and_models_agree_on_every_table(warehouse_url: str) -> None:
    engine = create_warehouse_engine(warehouse_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            view = {c["name"] for c in sa.inspect(connection).get_columns("customer_360")}
    finally:
        engine.dispose()
    assert diffs == []
    assert {"value_tier", "rfm_group", "lifecycle_stage", "next_contact_due"} <= view
