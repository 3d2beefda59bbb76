"""Warehouse rows that tests add directly, with every required column filled."""

from __future__ import annotations

import datetime as dt
from typing import Any

from warehouse.models import Customer

SEEDED_AT = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)


def golden_customer(customer_id: str, **fields: Any) -> Customer:
    """An active customer of one source, as a run would have stored it; `fields` override."""
    values: dict[str, Any] = {
        "full_name": "陈丽华",
        "quality_score": 0.5,
        "count_sources": 1,
        "field_sources": {},
        "is_active": True,
        "created_at": SEEDED_AT,
        "updated_at": SEEDED_AT,
        "last_run_id": "seed",
    }
    return Customer(customer_id=customer_id, **{**values, **fields})
