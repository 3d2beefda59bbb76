"""Alembic migrations of the warehouse schema, applied by warehouse.db.migrate at each run."""
