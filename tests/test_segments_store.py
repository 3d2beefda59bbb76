"""Segment writes keep their history; alerts and campaign lists read back, on both warehouses."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa
from helpers.rows import golden_customer
from sqlalchemy.orm import Session

from warehouse.db import create_warehouse_engine, migrate
from warehouse.load.segments import write_alerts, write_segments
from warehouse.models import Customer, CustomerSegmentHistory, RmAlert
from warehouse.run_output import RunOutput
from warehouse.segment_reads import campaign_members, segment_counts

NOW = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)


def output(run_id: str, rows: list[tuple[str, str, str]], **extra: object) -> RunOutput:
    segments = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "segment_type": [r[1] for r in rows],
            "segment_value": [r[2] for r in rows],
            "score": np.nan,
            "rule_version": "v:1",
            "next_contact_due": [
                dt.date(2025, 7, 7) if r[1] == "value_tier" else None for r in rows
            ],
        }
    )
    empty = pd.DataFrame()
    return RunOutput(
        run_id=run_id,
        records=empty,
        xref=empty,
        customers=empty,
        retired_customer_ids=[],
        segments=segments,
        tasks=[],
        quarantined=empty,
        segments_as_of=dt.date(2025, 6, 30),
        **extra,  # type: ignore[arg-type]
    )


def customer(customer_id: str, mobile: str, active: bool = True) -> Customer:
    return golden_customer(
        customer_id, full_name="=陈丽华", mobile=mobile, quality_score=1.0, is_active=active
    )


def test_moves_are_kept_with_their_date_and_lists_read_back(warehouse_url: str) -> None:
    engine = create_warehouse_engine(warehouse_url)
    try:
        migrate(engine)
        with Session(engine) as session, session.begin():
            session.add_all([customer("C1", "+8613800000001"), customer("C2", "+8613800000002")])
            session.add(customer("C3", "+8613800000003", active=False))
            first = output(
                "r1",
                [
                    ("C1", "value_tier", "gold"),
                    ("C1", "campaign_fund_sip", "age_and_investing"),
                    ("C2", "value_tier", "silver"),
                    ("C3", "campaign_fund_sip", "age_and_investing"),
                ],
            )
            assert write_segments(session, first, NOW) == 4  # first assignments
        with Session(engine) as session, session.begin():
            second = output(
                "r2",
                [("C1", "value_tier", "platinum"), ("C2", "value_tier", "silver")],
                alerts=[
                    {
                        "customer_id": "C1",
                        "alert_type": "aum_change",
                        "relationship_manager": "李经理",
                        "details": {"change_cny": np.float64(250_000.5)},
                        "rule_version": "aum_alert:1",
                    }
                ],
            )
            assert write_segments(session, second, NOW) == 2
            assert write_alerts(session, second, NOW) == 1
        with Session(engine) as session:
            moves = session.execute(
                sa.select(
                    CustomerSegmentHistory.customer_id,
                    CustomerSegmentHistory.segment_type,
                    CustomerSegmentHistory.old_value,
                    CustomerSegmentHistory.new_value,
                    CustomerSegmentHistory.changed_on,
                ).where(CustomerSegmentHistory.run_id == "r2")
            ).all()
            assert sorted(moves, key=str) == sorted(
                [
                    ("C1", "value_tier", "gold", "platinum", dt.date(2025, 6, 30)),
                    ("C1", "campaign_fund_sip", "age_and_investing", None, dt.date(2025, 6, 30)),
                ],
                key=str,
            )
            alert = session.execute(sa.select(RmAlert)).scalar_one()
            assert alert.details == {"change_cny": 250_000.5} and alert.status == "open"

            counts = segment_counts(session)
            assert counts.to_dict("records") == [
                {"segment_type": "value_tier", "segment_value": "platinum", "customers": 1},
                {"segment_type": "value_tier", "segment_value": "silver", "customers": 1},
            ]
        with Session(engine) as session, session.begin():
            write_segments(session, first, NOW)
        with Session(engine) as session:
            members = campaign_members(session, campaign="fund_sip")
        # C3 is merged away (inactive): not on the list
        assert members[["customer_id", "value_tier", "reason"]].values.tolist() == [
            ["C1", "gold", "age_and_investing"]
        ]
    finally:
        engine.dispose()


def _history_of(session: Session, run_id: str) -> list[tuple[object, ...]]:
    table = CustomerSegmentHistory
    columns = ("customer_id", "segment_type", "old_value", "new_value", "changed_on")
    columns += ("changed_at", "rule_version", "run_id")
    rows = session.execute(
        sa.select(*(getattr(table, c) for c in columns)).where(table.run_id == run_id)
    ).all()
    return sorted((tuple(row) for row in rows), key=str)


def test_a_first_run_keeps_the_history_a_later_run_would_keep(warehouse_url: str) -> None:
    """A first run's history is copied by the database from the assignments it wrote: the
    same rows the comparing path of a later run writes for customers new to it."""
    engine = create_warehouse_engine(warehouse_url)
    rows = [("C1", "value_tier", "gold"), ("C2", "campaign_fund_sip", "age_and_investing")]
    try:
        migrate(engine)
        with Session(engine) as session, session.begin():
            session.add_all([customer(f"C{n}", f"+861380000000{n}") for n in (1, 2, 3)])
        with Session(engine) as session, session.begin():
            assert write_segments(session, output("first", rows), NOW) == 2
            first = _history_of(session, "first")
            session.rollback()  # the same two again, into a warehouse holding C3's assignment
        with Session(engine) as session, session.begin():
            write_segments(session, output("earlier", [("C3", "value_tier", "silver")]), NOW)
        with Session(engine) as session, session.begin():
            assert write_segments(session, output("first", rows), NOW) == 2
            compared = _history_of(session, "first")
        assert first == compared
        assert [row[2] for row in first] == [None, None]  # first assignments
    finally:
        engine.dispose()
