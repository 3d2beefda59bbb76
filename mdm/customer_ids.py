"""Golden customer ids: `C` and nine digits, sortable, fixed width, never reused; and which
cluster keeps which id from run to run."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

CUSTOMER_PREFIX = "C"


CUSTOMER_DIGITS = 9
CUSTOMER_ID = re.compile(rf"{CUSTOMER_PREFIX}\d{{{CUSTOMER_DIGITS}}}")


def customer_number(customer_id: str) -> int:
    return int(customer_id.removeprefix(CUSTOMER_PREFIX))


def format_customer_id(number: int) -> str:
    """C000000042: sortable, fixed width, never reused."""
    return f"{CUSTOMER_PREFIX}{number:0{CUSTOMER_DIGITS}d}"


def assign_customer_ids(
    clusters: pd.Series, existing: pd.Series, *, next_number: int
) -> tuple[pd.Series, list[str]]:
    """Give each cluster a customer id, keeping the ids earlier runs gave.

    A cluster keeps the existing id held by most of its records (ties: the oldest id). When
    clusters merge, the other ids retire; when a customer splits, the larger part keeps the id.
    Returns (cluster label -> customer_id, retired ids).
    """
    members = pd.DataFrame({"label": clusters, "customer_id": existing.reindex(clusters.index)})
    claims = (
        members.dropna(subset=["customer_id"])
        .groupby(["customer_id", "label"], sort=False)
        .size()
        .reset_index(name="votes")
        .sort_values(["votes", "customer_id", "label"], ascending=[False, True, True])
    )
    assigned: dict[Any, str] = {}
    taken: set[str] = set()
    for customer_id, label in zip(claims["customer_id"], claims["label"], strict=True):
        if label not in assigned and customer_id not in taken:
            assigned[label] = customer_id
            taken.add(customer_id)
    for label in sorted(set(clusters) - set(assigned), key=str):
        assigned[label] = format_customer_id(next_number)
        next_number += 1
    retired = sorted(set(existing.dropna()) - taken)
    return pd.Series(assigned, dtype=object, name="customer_id"), retired
