"""The queue's filters, search and paging, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.queue import CHANNELS, TYPES, fill
from mdm.stewardship.queue import (
    TaskFilter,
    channels_with_tasks,
    count_tasks,
    counts_by_type,
    list_tasks,
)


@pytest.fixture
def session(warehouse_url: str):
    fill(warehouse_url, tasks=1000)  # 500 customers; C000000100, 200, ... are called 王伟
    engine = sa.create_engine(warehouse_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_oldest_first_a_page_at_a_time(session: Session) -> None:
    first = list_tasks(session, limit=50)
    second = list_tasks(session, limit=50, offset=50)
    created = [t.created_at for t in first + second]
    assert created == sorted(created) and len(set(t.task_id for t in first + second)) == 100
    urgent = list_tasks(session, by_priority=True, limit=400)
    assert [t.priority for t in urgent] == sorted(t.priority for t in urgent)


def test_counts_and_filters(session: Session) -> None:
    assert counts_by_type(session) == {kind: 200 for kind in TYPES}
    assert channels_with_tasks(session) == sorted(CHANNELS)
    assert channels_with_tasks(session, status="resolved") == []
    where = TaskFilter(task_type="conflict", channel="app")
    found = list_tasks(session, where=where, limit=1000)
    assert {(t.task_type, t.source_system) for t in found} == {("conflict", "app")}
    assert count_tasks(session, where=where) == len(found) > 0


@pytest.mark.parametrize(
    ("search", "customers"),
    [
        ("王伟", {"C000000100", "C000000200", "C000000300", "C000000400", "C000000500"}),
        ("c000000042", {"C000000042"}),
        ("13800000042", {"C000000042"}),  # a whole phone number
        ("+86 138 0000 0042", {"C000000042"}),
        ("100%", set()),  # LIKE wildcards are text, not patterns
    ],
)
def test_search_by_name_phone_or_customer_id(
    session: Session, search: str, customers: set[str]
) -> None:
    where = TaskFilter(search=search)
    found = list_tasks(session, where=where, limit=100)
    assert {t.customer_id for t in found} == customers
    assert count_tasks(session, where=where) == len(found)
    assert [t.created_at for t in found] == sorted(t.created_at for t in found)
