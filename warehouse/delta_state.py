"""The warehouse state of an incremental run, read from indexes: only the records that share a
blocking key with the run's new and changed records (its delta), every member of their
customers, and those customers; not every stored record.

The neighbours are found through `record_match_key` (one partial index per blocking key), the
block sizes a rule needs by counting there, and the term frequencies of the whole warehouse from
`term_frequency`, adjusted for what this run brings (its records' keys replace their stored
ones), so the matcher scores the same pairs with the same weights as on the whole warehouse
(mdm/matching/neighbourhood.py `Population`). The tables are filled by every run's load
(warehouse/load/match_keys.py); until they hold every stored record (the first run after
migration 0009), a run reads everything with `read_state`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.matching.keys import KEY_COLUMNS, LOOSE_KEYS, RULE_KEYS, VALUE_FIELDS, record_keys
from mdm.matching.neighbourhood import Population
from mdm.schema import record_key_index
from warehouse.load.chunks import chunks, record_key_chunks
from warehouse.load.match_keys import stored_counts, stored_keys, value_counts
from warehouse.models import (
    Customer,
    CustomerSegment,
    CustomerXref,
    RecordMatchKey,
    SourceRecord,
    TermFrequency,
    record_match_key,
)
from warehouse.state import (
    XREF_READ,
    PartialRead,
    WarehouseState,
    _pair_decisions,
    _pair_records_decided_since,
    field_overrides,
    last_successful_run,
    next_customer_number,
    read_customers,
    records_from_json,
)


def read_partial_state(
    session: Session,
    run_records: pd.DataFrame,
    *,
    max_block_size: int,
    incremental_share: float,
) -> WarehouseState | None:
    """The state of an incremental run on `run_records`, its delta's neighbourhood only; None
    when a run must read everything: an empty warehouse, keys not yet indexed for every record,
    or a delta larger than `incremental_share` of the warehouse (a full run)."""
    total = int(session.scalar(sa.select(sa.func.count()).select_from(SourceRecord)) or 0)
    indexed = session.scalar(sa.select(sa.func.count()).select_from(RecordMatchKey))
    if total == 0 or indexed != total:
        return None
    brought = _stored_run_records(session, run_records.index)
    parameters, last_start = last_successful_run(session)
    must, cannot = _pair_decisions(session)
    newly_decided = _pair_records_decided_since(session, last_start)
    stored_hash = brought["raw_hash"].reindex(run_records.index).to_numpy()
    changed = run_records.index[stored_hash != run_records["raw_hash"].to_numpy()]
    decided_keys = pd.Index(
        sorted({*newly_decided, *(key for pair in [*must, *cannot] for key in pair)}), dtype=object
    )
    decided_stored = stored_keys(session, decided_keys.difference(run_records.index))
    exists = run_records.index.union(decided_stored.index)
    delta = changed.union(exists.intersection(pd.Index(newly_decided, dtype=object)))
    if len(delta) > incremental_share * total:
        return None
    # as match_delta marks them: the delta, and both records of every decided pair
    paired = [key for pair in [*must, *cannot] if set(pair) <= set(exists) for key in pair]
    seeds = delta.union(pd.Index(paired, dtype=object))

    run_keys = record_keys(run_records)
    stored_run_keys = stored_keys(session, brought.index)
    seed_keys = pd.concat(
        [
            run_keys.loc[run_keys.index.intersection(seeds)],
            decided_stored.loc[decided_stored.index.intersection(seeds)],
        ]
    )
    near, block_sizes = _neighbours(
        session, seed_keys, run_keys, stored_run_keys, max_block_size=max_block_size
    )
    stored_seeds = seeds.intersection(brought.index.union(decided_stored.index))
    first = near.union(stored_seeds)
    customer_ids = sorted(set(_customers_of(session, first)))
    xref = _members(session, customer_ids)
    earlier = xref.index.difference(run_records.index, sort=False)
    records, keys = _records(session, earlier)
    # only the customers the run re-survives are enriched and written, and it reads theirs
    # after matching (previous_of): none of the read customers' rows is needed to match
    customers = read_customers(session, [])
    population = _population(
        session, block_sizes, pd.concat([run_keys, keys]), run_keys, stored_run_keys
    )
    distinct = session.scalar(sa.select(sa.func.count(sa.distinct(CustomerXref.customer_id))))
    partial = PartialRead(
        records_total=total,
        customers_elsewhere=int(distinct or 0) - len(customer_ids),
        population=population,
        brought_owners=brought["customer_id"],
        run_keys=run_keys,
        delta=delta,
    )
    return WarehouseState(
        records=records,
        customer_of=xref["customer_id"].astype(object).astype("category"),
        customers=customers,
        must_link=must,
        cannot_link=cannot,
        raw_hashes=brought["raw_hash"],
        match_scores=xref["match_score"].astype(float),
        match_parameters=parameters,
        field_overrides=field_overrides(session),
        newly_decided=newly_decided,
        next_customer_number=next_customer_number(session),
        match_keys=keys,
        partial=partial,
    )


def _stored_run_records(session: Session, keys: pd.Index) -> pd.DataFrame:
    """raw_hash and customer_id of the run's records the warehouse holds, index record_key."""
    parts = []
    for system, _, record_ids in record_key_chunks(keys):
        rows = session.execute(
            sa.select(
                SourceRecord.source_record_id, SourceRecord.raw_hash, CustomerXref.customer_id
            )
            .outerjoin(
                CustomerXref,
                (CustomerXref.source_system == SourceRecord.source_system)
                & (CustomerXref.source_record_id == SourceRecord.source_record_id),
            )
            .where(
                SourceRecord.source_system == system, SourceRecord.source_record_id.in_(record_ids)
            )
        ).all()
        frame = pd.DataFrame(rows, columns=["source_record_id", "raw_hash", "customer_id"])
        frame.index = record_key_index([system] * len(frame), frame["source_record_id"])
        parts.append(frame[["raw_hash", "customer_id"]])
    if not parts:
        return pd.DataFrame(
            {"raw_hash": [], "customer_id": []}, index=pd.Index([], dtype=object), dtype=object
        )
    return pd.concat(parts).astype(object)


def _neighbours(
    session: Session,
    seed_keys: pd.DataFrame,
    run_keys: pd.DataFrame,
    stored_run_keys: pd.DataFrame,
    *,
    max_block_size: int,
) -> tuple[pd.Index, dict[str, pd.Series]]:
    """Stored records sharing a loose key with a seed, or a rule's key in a block of at most
    `max_block_size` records; and per rule, the size of each block a seed holds a key of, as
    the whole warehouse with this run's records in it holds them."""
    table = record_match_key
    connection = session.connection()  # Core rows: the ORM's processing of each row is slow
    found: set[tuple[str, str]] = set()  # a record shares several keys: its key built once
    sizes: dict[str, pd.Series] = {}
    for name in (*LOOSE_KEYS, *RULE_KEYS):
        held = np.unique(seed_keys[name].to_numpy(dtype=np.int64))
        held = held[held != 0]
        column = table.c[name]
        if name in RULE_KEYS:
            counted = _count_by(session, column, held)
            # this run's records replace their stored form: the blocks as the run will see them
            counted = counted.add(_held_counts(run_keys[name], held), fill_value=0).sub(
                _held_counts(stored_run_keys[name], held), fill_value=0
            )
            sizes[name] = counted.astype(np.int64)
            held = counted.index[counted.to_numpy() <= max_block_size].to_numpy(dtype=np.int64)
        for chunk in chunks(held.tolist()):
            found.update(
                connection.execute(
                    sa.select(table.c.source_system, table.c.source_record_id).where(
                        column != 0, column.in_(chunk)
                    )
                ).tuples()
            )
    if not found:
        return pd.Index([], dtype=object), sizes
    systems, record_ids = zip(*found, strict=True)
    return record_key_index(systems, record_ids), sizes


def _count_by(session: Session, column: sa.ColumnElement[int], values: np.ndarray) -> pd.Series:
    """Stored records holding each of `values` in `column`."""
    counted: dict[int, int] = {}
    for chunk in chunks(values.tolist()):
        rows = session.execute(
            sa.select(column, sa.func.count())
            .where(column != 0, column.in_(chunk))
            .group_by(column)
        ).all()
        counted.update((int(value), int(n)) for value, n in rows)
    return pd.Series(counted, index=pd.Index(values, dtype=np.int64), dtype=float).fillna(0)


def _held_counts(keys: pd.Series, held: np.ndarray) -> pd.Series:
    values = keys.to_numpy(dtype=np.int64)
    counted = pd.Series(values[np.isin(values, held)]).value_counts(sort=False)
    return counted.astype(float)


def _customers_of(session: Session, keys: pd.Index) -> list[str]:
    found: list[str] = []
    connection = session.connection()
    for system, _, record_ids in record_key_chunks(keys):
        found.extend(
            connection.execute(
                sa.select(CustomerXref.customer_id).where(
                    CustomerXref.source_system == system,
                    CustomerXref.source_record_id.in_(record_ids),
                )
            ).scalars()
        )
    return found


def _members(session: Session, customer_ids: Sequence[str]) -> pd.DataFrame:
    """customer_id and match_score of every record of `customer_ids`, index record_key, in the
    order of the primary key (as read_state reads them)."""
    rows: list[Any] = []
    connection = session.connection()
    for chunk in chunks(list(customer_ids)):
        rows.extend(
            connection.execute(sa.select(*XREF_READ).where(CustomerXref.customer_id.in_(chunk)))
        )
    rows.sort(key=lambda row: (row[0], row[1]))  # (source_system, source_record_id)
    index = record_key_index([row[0] for row in rows], [row[1] for row in rows])
    # object columns: the caller converts both, so no column is made Arrow text on the way
    return pd.DataFrame(
        {
            "customer_id": np.array([row[2] for row in rows], dtype=object),
            "match_score": np.array([row[3] for row in rows], dtype=object),
        },
        index=index,
    )


def _records(session: Session, keys: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored records of `keys` (as read_state gives them) and their stored keys, read
    together: one lookup of each record's primary key in both tables."""
    documents: list[dict[str, Any]] = []
    matrix: list[tuple[int, ...]] = []
    columns = [record_match_key.c[name] for name in KEY_COLUMNS]
    connection = session.connection()
    for system, _, record_ids in record_key_chunks(keys):
        rows = connection.execute(
            sa.select(sa.cast(SourceRecord.record, sa.Text), *columns)
            .join(
                record_match_key,
                (record_match_key.c.source_system == SourceRecord.source_system)
                & (record_match_key.c.source_record_id == SourceRecord.source_record_id),
            )
            .where(
                SourceRecord.source_system == system,
                SourceRecord.source_record_id.in_(record_ids),
            )
        ).all()
        documents.extend(orjson.loads(row[0]) for row in rows)
        matrix.extend(tuple(row[1:]) for row in rows)
    records = records_from_json(documents)
    stored = pd.DataFrame(
        np.array(matrix, dtype=np.int64).reshape(len(matrix), len(KEY_COLUMNS)),
        index=records.index,
        columns=list(KEY_COLUMNS),
    )
    order = keys.intersection(records.index, sort=False)
    return records.loc[order], stored.loc[order]


def previous_of(session: Session, customer_ids: Sequence[str]) -> pd.DataFrame:
    """AUM and value tier the warehouse holds for `customer_ids` (those it holds), index
    customer_id: what a run compares its customers' new values with (alerts, tier upgrades)."""
    aum: dict[str, float | None] = {}
    tiers: dict[str, str] = {}
    for chunk in chunks(list(customer_ids)):
        aum.update(
            (customer_id, value)
            for customer_id, value in session.execute(
                sa.select(Customer.customer_id, Customer.aum_cny).where(
                    Customer.customer_id.in_(chunk)
                )
            ).all()
        )
        tiers.update(
            (customer_id, value)
            for customer_id, value in session.execute(
                sa.select(CustomerSegment.customer_id, CustomerSegment.segment_value).where(
                    CustomerSegment.segment_type == "value_tier",
                    CustomerSegment.customer_id.in_(chunk),
                )
            ).all()
        )
    previous = pd.DataFrame({"aum_cny": pd.Series(aum, dtype=float)})
    previous.index = previous.index.astype(object)
    return previous.join(pd.Series(tiers, dtype=object).rename("value_tier"), how="outer")


def _population(
    session: Session,
    block_sizes: dict[str, pd.Series],
    keys: pd.DataFrame,
    run_keys: pd.DataFrame,
    stored_run_keys: pd.DataFrame,
) -> Population:
    """The whole warehouse as `keys` (the read records' and the run's) see it: `block_sizes`,
    the share of every value they hold and the sums of squared shares, from `term_frequency`
    with this run's records in place of their stored form."""
    added, removed = value_counts(run_keys), value_counts(stored_run_keys)
    totals = {
        field: (int(records or 0), int(squares or 0))
        for field, records, squares in session.execute(
            sa.select(
                TermFrequency.field,
                sa.func.sum(TermFrequency.records),
                sa.func.sum(
                    sa.cast(TermFrequency.records, sa.BigInteger)
                    * sa.cast(TermFrequency.records, sa.BigInteger)
                ),
            ).group_by(TermFrequency.field)
        ).all()
    }
    shares, square_sums = {}, {}
    for field in VALUE_FIELDS:
        held = keys[f"value_{field}"].to_numpy(dtype=np.int64)
        moved = added[field].sub(removed[field], fill_value=0)
        wanted = _union(held[held != 0], moved.index)
        before = stored_counts(session, field, wanted).reindex(wanted).fillna(0)
        after = before.add(moved, fill_value=0)
        records, squares = totals.get(field, (0, 0))
        records += int(moved.sum())
        squares += int(((after**2) - (before**2)).loc[moved.index].sum())
        after = after[after > 0]
        shares[field] = after / max(records, 1)
        square_sums[field] = squares / max(records, 1) ** 2
    return Population(shares=shares, square_sums=square_sums, block_sizes=block_sizes)


def _union(*parts: Iterable[int]) -> pd.Index:
    values = np.concatenate([np.asarray(list(part), dtype=np.int64) for part in parts])
    return pd.Index(np.unique(values), dtype=np.int64)
