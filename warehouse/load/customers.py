"""The load of `customer` and its versions in `customer_history`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.schema import GOLDEN_FIELDS
from warehouse.load.bulk import column_values, insert_columns, json_text
from warehouse.load.chunks import CHUNK, chunks
from warehouse.models import Customer, CustomerHistory
from warehouse.run_output import RunOutput
from warehouse.values import as_instant, db_ready, json_ready, json_safe, same_score


def _customer_values(row: dict[str, Any]) -> dict[str, Any]:
    return {name: db_ready(row.get(name)) for name in GOLDEN_FIELDS}


# What a run sets on each customer it survives besides the golden fields. A difference in
# quality_score, count_sources or field_sources alone rewrites the row but makes no new version:
# updated_at and customer_history follow the golden fields (and a reactivation) only.
CUSTOMER_BOOKKEEPING = ("quality_score", "count_sources", "field_sources", "is_active")


def _bookkeeping(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "quality_score": float(row["quality_score"]),
        "count_sources": int(row["count_sources"]),
        "field_sources": json_safe(row["field_sources"]),
        "is_active": True,
    }


@dataclass
class _CustomerWrites:
    """What one chunk of a run's stored customers writes; a customer whose golden fields and
    bookkeeping the warehouse already holds is in none of the lists."""

    changed: list[dict[str, Any]] = field(default_factory=list)  # golden fields, or reactivated
    refreshed: list[dict[str, Any]] = field(default_factory=list)  # bookkeeping only
    versions: list[dict[str, Any]] = field(default_factory=list)  # customer_history rows


def write_customers(session: Session, output: RunOutput, now: dt.datetime) -> dict[str, int]:
    """Insert new customers, update only those whose golden fields or bookkeeping differ, retire
    the merged-away ones.

    The customers are compared with the warehouse a chunk at a time, as plain column values:
    loading them as ORM objects cost kilobytes each and, once touched, an UPDATE each. A customer
    with nothing changed is not written at all, so `last_run_id` is the last run that wrote the
    customer (created it, changed its golden fields or bookkeeping), not the last run that
    survived it; a retirement leaves it, setting only is_active and updated_at. `updated_at` and
    a new history version come with golden field changes (and reactivation) only.
    """
    created = updated = 0
    customers = output.customers
    for start in range(0, len(customers), CHUNK):
        chunk = customers.iloc[start : start + CHUNK]
        stored = _stored_customers(session, [str(customer_id) for customer_id in chunk.index])
        is_new = ~chunk.index.isin(list(stored))
        created += _insert_new_customers(session, chunk.loc[is_new], output.run_id, now)
        writes = _customer_writes(chunk.loc[~is_new], stored, output.run_id, now)
        _apply_customer_writes(session, writes, now)
        updated += len(writes.changed)
    return {
        "customers_created": created,
        "customers_updated": updated,
        "customers_retired": _retire_customers(session, output.retired_customer_ids, now),
    }


def _insert_new_customers(
    session: Session, customers: pd.DataFrame, run_id: str, now: dt.datetime
) -> int:
    """Insert customers the warehouse does not hold, and their first versions, a column at a
    time (the bulk of a first run: building a dict per customer cost more than writing it)."""
    count = len(customers)
    if count == 0:
        return 0
    customer_ids = [str(customer_id) for customer_id in customers.index]
    golden = {
        name: column_values(customers[name]) if name in customers else [None] * count
        for name in GOLDEN_FIELDS
    }
    insert_columns(
        session,
        Customer,
        {
            "customer_id": customer_ids,
            **golden,
            "quality_score": column_values(customers["quality_score"].astype(float)),
            "count_sources": column_values(customers["count_sources"].astype(int)),
            "field_sources": [json_text(sources) for sources in customers["field_sources"]],
            "is_active": [True] * count,
            "last_run_id": [run_id] * count,
            "created_at": [now] * count,
            "updated_at": [now] * count,
        },
        json_columns=("field_sources",),
    )
    fields = [
        json_text(dict(zip(GOLDEN_FIELDS, values, strict=True)))
        for values in zip(*golden.values(), strict=True)
    ]
    insert_columns(
        session,
        CustomerHistory,
        {
            "customer_id": customer_ids,
            "valid_from": [now] * count,
            "valid_to": [None] * count,
            "fields": fields,
            "run_id": [run_id] * count,
        },
        json_columns=("fields",),
    )
    return count


def _stored_customers(session: Session, customer_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Golden fields and bookkeeping of those of `customer_ids` the warehouse holds."""
    names = (*GOLDEN_FIELDS, *CUSTOMER_BOOKKEEPING)
    rows = session.execute(
        sa.select(Customer.customer_id, *(getattr(Customer, name) for name in names)).where(
            Customer.customer_id.in_(customer_ids)
        )
    ).all()
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in rows}


def _customer_writes(
    customers: pd.DataFrame, stored: dict[str, dict[str, Any]], run_id: str, now: dt.datetime
) -> _CustomerWrites:
    writes = _CustomerWrites()
    for key, row in customers.to_dict("index").items():
        customer_id = str(key)
        values = _customer_values(row)
        current = stored[customer_id]
        if _differs(current, values) or not current["is_active"]:
            written = {
                "customer_id": customer_id,
                **values,
                **_bookkeeping(row),
                "last_run_id": run_id,
            }
            writes.changed.append({**written, "updated_at": now})
            writes.versions.append(
                {
                    "customer_id": customer_id,
                    "valid_from": now,
                    "valid_to": None,
                    "fields": {name: json_ready(value) for name, value in values.items()},
                    "run_id": run_id,
                }
            )
        elif _bookkeeping_differs(current, row):
            writes.refreshed.append(
                {"customer_id": customer_id, **_bookkeeping(row), "last_run_id": run_id}
            )
    return writes


def _apply_customer_writes(session: Session, writes: _CustomerWrites, now: dt.datetime) -> None:
    # ORM bulk UPDATE by primary key: one executemany per list, no objects in the session
    for rows in (writes.changed, writes.refreshed):
        if rows:
            session.execute(sa.update(Customer), rows)
    # the changed customers' current versions close before theirs are inserted, never after
    close_versions(session, [row["customer_id"] for row in writes.changed], now)
    if writes.versions:
        session.execute(sa.insert(CustomerHistory), writes.versions)


def _retire_customers(session: Session, customer_ids: Sequence[str], now: dt.datetime) -> int:
    """Mark the merged-away customers inactive and close their current version; returns how
    many were still active."""
    retired = 0
    for chunk in chunks(customer_ids):
        active = list(
            session.execute(
                sa.select(Customer.customer_id).where(
                    Customer.customer_id.in_(chunk), Customer.is_active.is_(True)
                )
            ).scalars()
        )
        if active:
            session.execute(
                sa.update(Customer),
                [
                    {"customer_id": customer_id, "is_active": False, "updated_at": now}
                    for customer_id in active
                ],
            )
            close_versions(session, active, now)
            retired += len(active)
    return retired


def close_versions(session: Session, customer_ids: list[str], now: dt.datetime) -> None:
    if customer_ids:
        session.execute(
            sa.update(CustomerHistory)
            .where(
                CustomerHistory.customer_id.in_(customer_ids), CustomerHistory.valid_to.is_(None)
            )
            .values(valid_to=now)
        )


def _differs(before: dict[str, Any], after: dict[str, Any]) -> bool:
    for name in GOLDEN_FIELDS:
        old, new = before.get(name), after.get(name)
        if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
            old, new = as_instant(old), as_instant(new)
        if isinstance(old, float) and isinstance(new, float):
            if abs(old - new) > 0.005:  # money is stored to the cent
                return True
            continue
        if old != new:
            return True
    return False


def _bookkeeping_differs(before: dict[str, Any], row: dict[str, Any]) -> bool:
    """The stored bookkeeping against the one the run computed (`row`, as `_bookkeeping` takes
    it)."""
    sources = row["field_sources"]
    return (
        not same_score(before["quality_score"], float(row["quality_score"]))
        or before["count_sources"] != int(row["count_sources"])
        # as computed they are mostly equal already: json_safe, slow on every customer of a
        # large run, only settles the others
        or (sources != before["field_sources"] and json_safe(sources) != before["field_sources"])
    )
