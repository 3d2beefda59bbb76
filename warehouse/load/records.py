"""The load of `source_record` (standardized records, their match keys) and `customer_xref`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.matching.keys import to_bytes
from warehouse.load.chunks import record_key_chunks, replace_by_record_id, stored_by_record_id
from warehouse.models import CustomerXref, SourceRecord
from warehouse.run_output import RunOutput
from warehouse.state import STORED_RECORD_FIELDS
from warehouse.values import json_ready, same_scores


def write_source_records(session: Session, output: RunOutput, now: dt.datetime) -> None:
    """Store the records that are new or whose raw row changed (raw_hash). A record read again
    unchanged keeps its row as stored, ingested_at and last_run_id included: rewriting it would
    make the load cost the size of the delivery rather than of what changed."""
    records = output.records
    for system, positions, record_ids in record_key_chunks(records.index):
        chunk = records.iloc[positions]
        stored = stored_by_record_id(
            session, SourceRecord, ["raw_hash"], system=system, record_ids=record_ids
        )
        changed = stored["raw_hash"].to_numpy() != chunk["raw_hash"].to_numpy()
        known = stored["raw_hash"].notna().to_numpy()
        replace_by_record_id(
            session,
            SourceRecord,
            system=system,
            stale_ids=np.asarray(record_ids, dtype=object)[known & changed].tolist(),
            rows=_source_record_rows(chunk.loc[changed], output.run_id, now, output.match_keys),
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


def _source_record_rows(
    records: pd.DataFrame, run_id: str, now: dt.datetime, keys: pd.DataFrame | None
) -> list[dict[str, Any]]:
    stored_columns = [c for c in STORED_RECORD_FIELDS if c in records.columns]
    payloads = records[stored_columns].to_dict("records")
    # Records without keys (a caller that computed none) store NULL: the next read computes them.
    blobs: list[bytes | None] = [None] * len(records)
    if keys is not None:
        # get_indexer, not isin: the run's keys are looked up once per chunk of records, and
        # isin would hash all of them each time where get_indexer builds its table once
        found = keys.index.get_indexer(records.index)
        known = np.flatnonzero(found >= 0)
        for position, blob in zip(known, to_bytes(keys.iloc[found[known]]), strict=True):
            blobs[position] = blob
    return [
        {
            "source_system": system,
            "source_record_id": record_id,
            "source_file": source_file,
            "source_row": int(source_row),
            "raw_hash": raw_hash,
            "record": {
                "record_key": key,
                "source_system": system,
                "source_record_id": record_id,
                **{name: json_ready(value) for name, value in payload.items()},
            },
            "ingested_at": now,
            "last_run_id": run_id,
            "match_keys": blob,
        }
        for key, system, record_id, source_file, source_row, raw_hash, payload, blob in zip(
            records.index,
            records["source_system"],
            records["source_record_id"],
            records["source_file"],
            records["source_row"],
            records["raw_hash"],
            payloads,
            blobs,
            strict=True,
        )
    ]


def write_xref(session: Session, output: RunOutput, now: dt.datetime) -> None:
    """Store the records whose customer or match score changed, and the new ones; the others
    keep their row as stored, matched_at and run_id included."""
    xref = output.xref
    for system, positions, record_ids in record_key_chunks(xref.index):
        chunk = xref.iloc[positions]
        stored = stored_by_record_id(
            session,
            CustomerXref,
            ["customer_id", "match_score"],
            system=system,
            record_ids=record_ids,
        )
        # a record the warehouse lacks has a null stored customer, so it counts as moved
        moved = stored["customer_id"].to_numpy() != chunk["customer_id"].to_numpy()
        rescored = ~same_scores(stored["match_score"], chunk["match_score"])
        changed = moved | rescored
        known = stored["customer_id"].notna().to_numpy()
        rows = [
            {
                "source_system": system,
                "source_record_id": record_id,
                "customer_id": customer_id,
                "match_score": float(score),
                "matched_at": now,
                "run_id": output.run_id,
            }
            for record_id, customer_id, score in zip(
                np.asarray(record_ids, dtype=object)[changed],
                chunk["customer_id"].to_numpy()[changed],
                chunk["match_score"].to_numpy()[changed],
                strict=True,
            )
        ]
        replace_by_record_id(
            session,
            CustomerXref,
            system=system,
            stale_ids=np.asarray(record_ids, dtype=object)[known & changed].tolist(),
            rows=rows,
        )
