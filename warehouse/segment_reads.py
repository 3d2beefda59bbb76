"""Reads of the segment tables for the CLI and downstream tools (counts and campaign lists)."""

from __future__ import annotations

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
    """segment_type, segment_value, customers: active customers per current segment."""
    query = (
        sa.select(
            CustomerSegment.segment_type,
            CustomerSegment.segment_value,
            sa.func.count().label("customers"),
        )
        .join(Customer, Customer.customer_id == CustomerSegment.customer_id)
        .where(Customer.is_active.is_(True))
        .group_by(CustomerSegment.segment_type, CustomerSegment.segment_value)
        .order_by(CustomerSegment.segment_type, CustomerSegment.segment_value)
    )
    return pd.DataFrame(
        session.execute(query).all(), columns=["segment_type", "segment_value", "customers"]
    )


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
