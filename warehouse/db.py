"""Connecting to the warehouse and bringing its schema up to date (Alembic)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from mdm.errors import MdmError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_warehouse_engine(url: str) -> Engine:
    """An engine for the warehouse URL; SQLite gets foreign keys and a busy timeout."""
    try:
        engine = sa.create_engine(url, future=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise MdmError(f"warehouse URL {_masked(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine) -> None:
    """Bring a new or old warehouse up to the latest schema."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.OperationalError as exc:
        raise MdmError(f"warehouse {_masked(str(engine.url))}: {str(exc.orig).strip()}") from exc


def is_up_to_date(engine: Engine) -> bool:
    """True when the warehouse's schema is at the newest migration."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def _masked(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)
