"""The customer page's segment history comes back newest first (it was sorted by columns the
table does not have, so in no set order)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from warehouse.db import migrate
from warehouse.models import CustomerSegmentHistory
from web.routes_customers import segment_history


def test_segment_history_is_newest_first(warehouse_url: str) -> None:
    engine = sa.create_engine(warehouse_url)
    migrate(engine)
    moves = [  # written out of order: the order must come from the dates, not the insertion
        ("2026-03-01", "silver", "gold"),
        ("2026-01-01", None, "silver"),
        ("2026-06-01", "gold", "platinum"),
    ]
    with Session(engine) as session, session.begin():
        for day, old, new in moves:
            on = dt.date.fromisoformat(day)
            session.add(
                CustomerSegmentHistory(
                    customer_id="C000000001",
                    segment_type="value_tier",
                    old_value=old,
                    new_value=new,
                    changed_on=on,
                    changed_at=dt.datetime.combine(on, dt.time(2), tzinfo=dt.UTC),
                    run_id=f"run-{day}",
                )
            )
        session.add(  # another customer's move is not shown
            CustomerSegmentHistory(
                customer_id="C000000002",
                segment_type="value_tier",
                old_value=None,
                new_value="gold",
                changed_on=dt.date(2026, 7, 1),
                changed_at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC),
                run_id="run-other",
            )
        )
    with Session(engine) as session:
        shown = segment_history(session, "C000000001")
    engine.dispose()
    assert [row["new_value"] for row in shown] == ["platinum", "gold", "silver"]
    assert list(shown[0]) == [
        "segment_type", "old_value", "new_value", "changed_on", "changed_at", "run_id"
    ]  # fmt: skip
