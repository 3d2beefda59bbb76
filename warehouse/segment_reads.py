"""Reads of the segment tables for the CLI and downstream tools (counts and campaign lists)."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from warehouse.models import Customer, CustomerSegment

# What a campaign tool needs to reach a customer, and nothing more (docs/segments.md).
CAMPAIGN_EXPORT_COLUMNS = (
    "customer_id",
    "full_name",
    "mobile",
    "relationship_manager",
    "branch_code",
    "value_tier",
    "reason",
)


def segment_counts(session: Session) -> pd.DataFrame:
    """segment_type, segment_value, customers: active customers per current segment.

    Counted as every assignment less those of inactive (merged-away) customers: the first is
    read from the (segment_type, segment_value) index alone, the second from the few inactive
    customers, where a join of every assignment to its customer looks each one up (a million
    customers' 3.4 million assignments: 3.9 s against 0.3 s on SQLite)."""
    key = (CustomerSegment.segment_type, CustomerSegment.segment_value)
    every = sa.select(*key, sa.func.count()).group_by(*key)
    inactive = (
        sa.select(*key, sa.func.count())
        .where(
            CustomerSegment.customer_id.in_(
                sa.select(Customer.customer_id).where(Customer.is_active.is_(False))
            )
        )
        .group_by(*key)
    )
    counts = Counter({(t, v): int(n) for t, v, n in session.execute(every)})
    counts.subtract({(t, v): int(n) for t, v, n in session.execute(inactive)})
    rows = sorted((t, v, n) for (t, v), n in counts.items() if n > 0)
    return pd.DataFrame(rows, columns=["segment_type", "segment_value", "customers"])


def campaign_members(session: Session, *, campaign: str) -> pd.DataFrame:
    """The active customers on a campaign list, with the contact fields of the export."""
    tier = sa.orm.aliased(CustomerSegment)
    listed = sa.orm.aliased(CustomerSegment)
    query = (
        sa.select(
            Customer.customer_id,
            Customer.full_name,
            Customer.mobile,
            Customer.relationship_manager,
            Customer.branch_code,
            tier.segment_value,
            listed.segment_value,
        )
        .join(listed, listed.customer_id == Customer.customer_id)
        .outerjoin(
            tier,
            sa.and_(tier.customer_id == Customer.customer_id, tier.segment_type == "value_tier"),
        )
        .where(listed.segment_type == f"campaign_{campaign}", Customer.is_active.is_(True))
        .order_by(Customer.customer_id)
    )
    return pd.DataFrame(session.execute(query).all(), columns=list(CAMPAIGN_EXPORT_COLUMNS))
