"""The load of `customer_relationship`: links between related customers, one row per pair.

A link the run found is inserted, or refreshed (kind, evidence, last_seen_run_id) when stored.
A link to a customer the run merged away is repointed to the surviving customer, and dropped
when the two sides became one customer. A full run scored every pair, so a stored link it did
not find again is deleted; an incremental run scored only its new and changed records' pairs,
so it deletes only the unfound links of customers all of whose records it matched, and leaves
the others as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from warehouse.load.chunks import chunks
from warehouse.models import CustomerRelationship
from warehouse.run_output import RunOutput

Pair = tuple[str, str]


@dataclass
class _Stored:
    relationship_id: int
    pair: Pair  # as stored
    relationship_type: str
    evidence: list[str]


def _stored_links(session: Session, customer_ids: set[str] | None) -> list[_Stored]:
    """The stored links of those customers (on either side); all when ``customer_ids`` is None."""
    link = CustomerRelationship
    columns = (
        link.relationship_id,
        link.customer_id,
        link.related_customer_id,
        link.relationship_type,
        link.evidence,
    )
    if customer_ids is None:
        selects = [sa.select(*columns)]
    else:
        selects = [
            sa.select(*columns).where(
                sa.or_(link.customer_id.in_(chunk), link.related_customer_id.in_(chunk))
            )
            for chunk in chunks(sorted(customer_ids))
        ]
    found: dict[int, _Stored] = {}
    for select in selects:
        for row in session.execute(select):
            found[row[0]] = _Stored(row[0], (row[1], row[2]), row[3], list(row[4]))
    return sorted(found.values(), key=lambda stored: stored.relationship_id)


def _repointed(pair: Pair, merged_into: dict[str, str]) -> Pair | None:
    a, b = (merged_into.get(side, side) for side in pair)
    if a == b:
        return None
    return (a, b) if a < b else (b, a)


def _update_by_id(session: Session, updates: list[dict[str, Any]]) -> None:
    """One executemany per set of changed columns (a full run refreshes every link it sees)."""
    table = cast(sa.Table, CustomerRelationship.__table__)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for update in updates:
        groups.setdefault(tuple(sorted(update)), []).append(update)
    for names, rows in groups.items():
        statement = (
            sa.update(table)
            .where(table.c.relationship_id == sa.bindparam("b_id"))
            .values({name: sa.bindparam(f"b_{name}") for name in names if name != "id"})
        )
        for chunk in chunks(rows):
            params = [{f"b_{name}": value for name, value in row.items()} for row in chunk]
            session.connection().execute(statement, params)


def write_relationships(session: Session, output: RunOutput, now: dt.datetime) -> int:
    """Insert, refresh, repoint and retire links; returns how many links the run found."""
    found: dict[Pair, dict[str, Any]] = {}
    if output.relationships is not None:
        for row in output.relationships.to_dict("records"):
            found[(str(row["customer_id"]), str(row["related_customer_id"]))] = row
    merged = output.merged_into
    settled = set(output.relationships_settled)
    scope = None
    if not output.relationships_complete:
        scope = {*(side for pair in found for side in pair), *merged, *settled}
    if scope == set():
        return 0

    deleted: list[int] = []
    updates: list[dict[str, Any]] = []
    kept: set[Pair] = set()
    for stored in _stored_links(session, scope):
        pair = _repointed(stored.pair, merged)
        if pair is None or pair in kept:  # one customer now, or a second row of one pair
            deleted.append(stored.relationship_id)
            continue
        if pair not in found and (output.relationships_complete or not settled.isdisjoint(pair)):
            deleted.append(stored.relationship_id)  # every pair of a side was seen, not this one
            continue
        kept.add(pair)
        change: dict[str, Any] = {}
        if pair != stored.pair:
            change = {"customer_id": pair[0], "related_customer_id": pair[1]}
        if pair in found:
            row = found[pair]
            change |= {"last_seen_run_id": output.run_id}
            if (row["relationship_type"], list(row["evidence"])) != (
                stored.relationship_type,
                stored.evidence,
            ):
                change |= {
                    "relationship_type": row["relationship_type"],
                    "evidence": list(row["evidence"]),
                }
        if change:
            updates.append({"id": stored.relationship_id, **change, "updated_at": now})

    link = CustomerRelationship
    for chunk in chunks(deleted):
        session.execute(sa.delete(link).where(link.relationship_id.in_(chunk)))
    _update_by_id(session, updates)
    fresh = [
        {
            "customer_id": pair[0],
            "related_customer_id": pair[1],
            "relationship_type": row["relationship_type"],
            "evidence": list(row["evidence"]),
            "since": now,
            "updated_at": now,
            "first_seen_run_id": output.run_id,
            "last_seen_run_id": output.run_id,
        }
        for pair, row in found.items()
        if pair not in kept
    ]
    for chunk in chunks(fresh):
        session.execute(sa.insert(link), list(chunk))
    return len(found)
