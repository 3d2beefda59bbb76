"""Secondary indexes built once after a first load on PostgreSQL, rather than row by row.

A table that is empty when the load starts gets all its rows from this run: PostgreSQL builds
an index over them in one sort far faster than it maintains it through a COPY of every row
(300,000 records: a first load's write 55.9 -> 41.2 s with the index builds, 4.2 s of it).
The DROP and CREATE run inside the load's transaction, so a failed load leaves the indexes as
they were; readers of those tables wait for the commit, but a first load has nothing to show
them before it. Unique indexes and constraints stay: they guard the load itself. SQLite is left
alone: its page cache holds the indexes of a first load, and building them afterwards measured
no faster.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from warehouse.load.chunks import holds_rows
from warehouse.models import (
    Base,
    Customer,
    CustomerHistory,
    CustomerRelationship,
    CustomerSegment,
    CustomerSegmentHistory,
    CustomerXref,
    Quarantine,
    StewardTask,
)

# the tables a run fills in bulk (record_match_key rebuilds its own: warehouse/load/match_keys.py)
BULK_TABLES: tuple[type[Base], ...] = (
    Customer,
    CustomerHistory,
    CustomerXref,
    CustomerSegment,
    CustomerSegmentHistory,
    CustomerRelationship,
    StewardTask,
    Quarantine,
)
INDEX_BUILD_MEMORY = "256MB"  # maintenance_work_mem for the builds: each sorts in memory


@contextmanager
def indexes_built_after(
    session: Session, models: Sequence[type[Base]] = BULK_TABLES
) -> Iterator[None]:
    """Inside: the empty tables of `models` without their non-unique indexes (PostgreSQL only);
    on leaving without an error, those indexes built again, as the schema defines them."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    connection = session.connection()
    deferred = [
        index
        for model in models
        if not holds_rows(session, model)
        for index in sorted(_table(model).indexes, key=lambda index: str(index.name))
        if not index.unique
    ]
    for index in deferred:
        index.drop(connection)
    yield
    if deferred:
        connection.execute(sa.text(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'"))
    for index in deferred:
        index.create(connection)


def _table(model: type[Base]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table
