"""The load of `source_record` (standardized records, their match keys) and `customer_xref`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.matching.keys import to_bytes
from warehouse.load.bulk import boxed_values, column_values, json_text
from warehouse.load.chunks import (
    holds_rows,
    record_key_chunks,
    replace_by_record_id,
    stored_by_record_id,
)
from warehouse.models import CustomerXref, SourceRecord
from warehouse.run_output import RunOutput
from warehouse.state import STORED_RECORD_FIELDS
from warehouse.values import json_ready, same_scores


def write_source_records(session: Session, output: RunOutput, now: dt.datetime) -> None:
    """Store the records that are new or whose raw row changed (raw_hash). A record read again
    unchanged keeps its row as stored, ingested_at and last_run_id included: rewriting it would
    make the load cost the size of the delivery rather than of what changed."""
    records = output.records
    first_load = not holds_rows(session, SourceRecord)
    for system, positions, record_ids in record_key_chunks(records.index):
        chunk = records.iloc[positions]
        stored = stored_by_record_id(
            session,
            SourceRecord,
            ["raw_hash"],
            system=system,
            record_ids=record_ids,
            table_was_empty=first_load,
        )
        changed = stored["raw_hash"].to_numpy() != chunk["raw_hash"].to_numpy()
        known = stored["raw_hash"].notna().to_numpy()
        replace_by_record_id(
            session,
            SourceRecord,
            system=system,
            stale_ids=np.asarray(record_ids, dtype=object)[known & changed].tolist(),
            columns=_source_record_columns(
                chunk.loc[changed], output.run_id, now, output.match_keys
            ),
            json_columns=("record",),
        )
    _refresh_match_keys(session, output.refreshed_keys)


def _refresh_match_keys(session: Session, keys: pd.DataFrame | None) -> None:
    """Store recomputed keys of records whose row is otherwise unchanged."""
    if keys is None or keys.empty:
        return
    table = sa.table(
        "source_record",
        sa.column("source_system"),
        sa.column("source_record_id"),
        sa.column("match_keys"),
    )
    statement = (  # core, not ORM: executemany by the chunk, parameters named apart from columns
        sa.update(table)
        .where(
            table.c.source_system == sa.bindparam("system"),
            table.c.source_record_id == sa.bindparam("record_id"),
        )
        .values(match_keys=sa.bindparam("keys", type_=sa.LargeBinary))
    )
    blobs = to_bytes(keys)
    for system, positions, record_ids in record_key_chunks(keys.index):
        rows = [
            {"system": system, "record_id": record_id, "keys": blobs[position]}
            for position, record_id in zip(positions, record_ids, strict=True)
        ]
        session.execute(statement, rows)


def _source_record_columns(
    records: pd.DataFrame, run_id: str, now: dt.datetime, keys: pd.DataFrame | None
) -> dict[str, list[Any]]:
    """The `source_record` rows of `records`, column by column, the record as JSON text."""
    # Records without keys (a caller that computed none) store NULL: the next read computes them.
    blobs: list[bytes | None] = [None] * len(records)
    if keys is not None:
        # get_indexer, not isin: the run's keys are looked up once per chunk of records, and
        # isin would hash all of them each time where get_indexer builds its table once
        found = keys.index.get_indexer(records.index)
        known = np.flatnonzero(found >= 0)
        for position, blob in zip(known, to_bytes(keys.iloc[found[known]]), strict=True):
            blobs[position] = blob
    systems = column_values(records["source_system"])
    record_ids = column_values(records["source_record_id"])
    return {
        "source_system": systems,
        "source_record_id": record_ids,
        "source_file": column_values(records["source_file"]),
        "source_row": column_values(records["source_row"].astype(int)),
        "raw_hash": column_values(records["raw_hash"]),
        "record": _record_documents(records, systems, record_ids),
        "ingested_at": [now] * len(records),
        "last_run_id": [run_id] * len(records),
        "match_keys": blobs,
    }


def _record_documents(
    records: pd.DataFrame, systems: list[Any], record_ids: list[Any]
) -> list[str]:
    """Each record's standardized fields as the JSON document `source_record.record` holds
    (`json_ready` values: dates as ISO text, NaN as null), built a column at a time."""
    fields = [
        c
        for c in STORED_RECORD_FIELDS
        if c in records.columns and c not in ("source_system", "source_record_id")
    ]
    names = ["record_key", "source_system", "source_record_id", *fields]
    values = [records.index, systems, record_ids, *(_json_column(records[c]) for c in fields)]
    return [json_text(dict(zip(names, row, strict=True))) for row in zip(*values, strict=True)]


def _json_column(values: pd.Series) -> Sequence[Any]:
    """A column as orjson takes it with `json_ready`'s meaning: floats as they are (orjson writes
    NaN as null), everything but text and numbers through `json_ready` (timestamps, NaT)."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiub":
        return values.tolist()
    return [
        value if type(value) in _JSON_NATIVE else json_ready(value)
        for value in boxed_values(values)
    ]


_JSON_NATIVE = (str, int, float, bool, type(None))


def write_xref(session: Session, output: RunOutput, now: dt.datetime) -> None:
    """Store the records whose customer or match score changed, and the new ones; the others
    keep their row as stored, matched_at and run_id included."""
    xref = output.xref
    first_load = not holds_rows(session, CustomerXref)
    for system, positions, record_ids in record_key_chunks(xref.index):
        chunk = xref.iloc[positions]
        stored = stored_by_record_id(
            session,
            CustomerXref,
            ["customer_id", "match_score"],
            system=system,
            record_ids=record_ids,
            table_was_empty=first_load,
        )
        # a record the warehouse lacks has a null stored customer, so it counts as moved
        moved = stored["customer_id"].to_numpy() != chunk["customer_id"].to_numpy()
        rescored = ~same_scores(stored["match_score"], chunk["match_score"])
        changed = moved | rescored
        known = stored["customer_id"].notna().to_numpy()
        count = int(changed.sum())
        columns = {
            "source_system": [system] * count,
            "source_record_id": np.asarray(record_ids, dtype=object)[changed].tolist(),
            "customer_id": column_values(chunk["customer_id"].astype(object)[changed]),
            "match_score": column_values(chunk["match_score"].astype(float)[changed]),
            "matched_at": [now] * count,
            "run_id": [output.run_id] * count,
        }
        replace_by_record_id(
            session,
            CustomerXref,
            system=system,
            stale_ids=np.asarray(record_ids, dtype=object)[known & changed].tolist(),
            columns=columns,
        )
