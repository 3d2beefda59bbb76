"""Helpers for tests of steward work: who holds which record, tasks about a customer, tiers."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from warehouse.models import CustomerSegment, StewardTask


def customer_of(session: Session) -> pd.Series:
    """record key -> customer id, for every record in customer_xref."""
    rows = session.execute(
        sa.text("SELECT source_system || ':' || source_record_id, customer_id FROM customer_xref")
    ).all()
    return pd.Series(dict(rows))


def multi_record_customers(ids: pd.Series) -> list[list[str]]:
    """The record keys of each customer that holds two or more records."""
    groups = ids.groupby(ids).groups
    return [sorted(keys) for keys in groups.values() if len(keys) >= 2]


def customer_task(session: Session, customer_id: str, key: str) -> int:
    """A conflict task about a customer, as a run opens one; returns its id."""
    task = StewardTask(
        task_type="conflict",
        task_key=f"conflict:{customer_id}:{key}",
        priority=1,
        customer_id=customer_id,
        details={"field": "mobile", "values": []},
        status="open",
        created_at=dt.datetime.now(dt.UTC),
        run_id="test",
    )
    session.add(task)
    session.flush()
    return task.task_id


def set_tier(session: Session, customer_id: str, tier: str) -> None:
    """Give a customer another value tier (four eyes act on diamond and platinum ones)."""
    row = session.get(CustomerSegment, (customer_id, "value_tier"))
    assert row is not None
    row.segment_value = tier
