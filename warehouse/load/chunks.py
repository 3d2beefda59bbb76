"""Writing in chunks, and reading and replacing rows keyed by (source_system, source_record_id)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.schema import split_record_keys
from warehouse.load.bulk import insert_columns

CHUNK = 5_000  # rows per executemany: large enough to be fast, small enough for any driver


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def record_key_chunks(keys: pd.Index) -> Iterator[tuple[str, np.ndarray, list[str]]]:
    """(source system, positions in `keys`, record ids) in chunks of one system each, so that a
    chunk is one `source_system = ? AND source_record_id IN (...)` on a table keyed by record."""
    if len(keys) == 0:
        return
    systems, record_ids = split_record_keys(keys)
    for system, positions in pd.Series(systems).groupby(systems, sort=False).indices.items():
        for start in range(0, len(positions), CHUNK):
            chunk = positions[start : start + CHUNK]
            yield str(system), chunk, record_ids[chunk].tolist()


def holds_rows(session: Session, model: Any) -> bool:
    return bool(session.execute(sa.select(sa.exists().select_from(model))).scalar())


def stored_by_record_id(
    session: Session,
    model: Any,
    columns: Sequence[str],
    *,
    system: str,
    record_ids: list[str],
    table_was_empty: bool = False,
) -> pd.DataFrame:
    """`columns` of one system's stored rows, in the order of `record_ids`; a record the
    warehouse does not hold yet is a row of nulls.

    `table_was_empty`: the table held no row before this run's load began, so none of these
    records is stored (a run's records are distinct). The lookup is left out: on a first load
    into PostgreSQL, the table filled within the transaction has no statistics yet and each
    lookup scanned it whole (37 of 70 s of the load at 300k records)."""
    rows: list[Any] = []
    if not table_was_empty:
        rows = list(
            session.execute(
                sa.select(
                    model.source_record_id, *(getattr(model, name) for name in columns)
                ).where(model.source_system == system, model.source_record_id.in_(record_ids))
            ).all()
        )
    stored = pd.DataFrame(rows, columns=["source_record_id", *columns])
    return stored.set_index("source_record_id").reindex(record_ids)


def replace_by_record_id(
    session: Session,
    model: Any,
    *,
    system: str,
    stale_ids: list[str],
    columns: Mapping[str, Sequence[Any]],
    json_columns: Sequence[str] = (),
) -> None:
    """Delete the stored rows of `stale_ids` and insert the rows `columns` holds (their new
    form, and new records; `insert_columns`)."""
    if stale_ids:
        session.execute(
            sa.delete(model).where(
                model.source_system == system, model.source_record_id.in_(stale_ids)
            )
        )
    insert_columns(session, model, columns, json_columns=json_columns)
