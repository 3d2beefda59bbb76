"""A first load on PostgreSQL builds the secondary indexes of its empty tables after the rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers.rows import golden_customer
from sqlalchemy.orm import Session

from warehouse.db import create_warehouse_engine, migrate
from warehouse.load.index_builds import indexes_built_after
from warehouse.models import Customer, CustomerSegment


def _indexes(session: Session, table: str) -> set[str]:
    return {str(index["name"]) for index in sa.inspect(session.connection()).get_indexes(table)}


@pytest.mark.postgres
def test_empty_tables_lose_their_indexes_inside_and_get_them_back(postgres_url: str) -> None:
    engine = create_warehouse_engine(postgres_url)
    try:
        migrate(engine)
        with Session(engine) as session, session.begin():
            session.add(golden_customer("C1"))
        with Session(engine) as session, session.begin():
            before = {t: _indexes(session, t) for t in ("customer", "customer_segment")}
            assert before["customer_segment"] and before["customer"]
            with indexes_built_after(session, [Customer, CustomerSegment]):
                assert _indexes(session, "customer_segment") == set()  # empty: built after
                assert _indexes(session, "customer") == before["customer"]  # holds a row
            assert {t: _indexes(session, t) for t in before} == before
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_load_that_fails_leaves_the_indexes_as_they_were(postgres_url: str) -> None:
    engine = create_warehouse_engine(postgres_url)
    try:
        migrate(engine)
        with Session(engine) as session:
            before = _indexes(session, "customer_segment")
        with (
            pytest.raises(RuntimeError),
            Session(engine) as session,
            session.begin(),
            indexes_built_after(session, [CustomerSegment]),
        ):
            raise RuntimeError("the load failed")
        with Session(engine) as session:
            assert _indexes(session, "customer_segment") == before
    finally:
        engine.dispose()


def test_sqlite_keeps_its_indexes_through_a_first_load(sqlite_url: str) -> None:
    engine = create_warehouse_engine(sqlite_url)
    try:
        migrate(engine)
        with Session(engine) as session, session.begin():
            before = _indexes(session, "customer_segment")
            with indexes_built_after(session, [CustomerSegment]):
                assert _indexes(session, "customer_segment") == before
    finally:
        engine.dispose()
