"""The load of `record_match_key` (each stored record's match keys, indexed) and
`term_frequency` (how many stored records hold each value), which incremental runs read instead
of every record (warehouse/delta_state.py).

A run that read the whole warehouse rewrites both from every record's keys (the first run after
migration 0009 fills them so); a run that read only its neighbourhood changes the rows of the
records whose keys changed and moves the counts of their old and new values.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.matching.keys import KEY_COLUMNS, VALUE_FIELDS
from mdm.schema import record_key_index, split_record_keys
from warehouse.load.bulk import insert_columns
from warehouse.load.chunks import CHUNK, chunks, record_key_chunks
from warehouse.models import RecordMatchKey, TermFrequency, record_match_key
from warehouse.run_output import RunOutput


def write_match_keys(session: Session, output: RunOutput) -> None:
    """Keep `record_match_key` and `term_frequency` equal to the stored records' keys."""
    if output.all_match_keys is not None:
        _rewrite(session, output.all_match_keys)
        return
    parts = [k for k in (output.match_keys, output.refreshed_keys) if k is not None and len(k)]
    if not parts:
        return
    keys = pd.concat(parts)
    keys = keys[~keys.index.duplicated(keep="first")]
    stored = stored_keys(session, keys.index)
    found = stored.index.get_indexer(keys.index)
    before = np.zeros((len(keys), len(KEY_COLUMNS)), dtype=np.int64)
    known = found >= 0
    before[known] = stored.to_numpy(dtype=np.int64)[found[known]]
    after = keys[list(KEY_COLUMNS)].to_numpy(dtype=np.int64)
    changed = ~known | (before != after).any(axis=1)
    if not changed.any():
        return
    replaced = keys.index[changed & known]
    for system, _, record_ids in record_key_chunks(replaced):
        session.execute(
            sa.delete(record_match_key).where(
                record_match_key.c.source_system == system,
                record_match_key.c.source_record_id.in_(record_ids),
            )
        )
    _insert_keys(session, keys.loc[changed])
    old = pd.DataFrame(before[changed & known], columns=list(KEY_COLUMNS))
    _move_counts(session, value_counts(keys.loc[changed]), value_counts(old))


def stored_keys(session: Session, record_keys: pd.Index) -> pd.DataFrame:
    """KEY_COLUMNS of those of `record_keys` that `record_match_key` holds, as int64 (a frame
    with gaps would turn 64-bit hashes into floats)."""
    parts = []
    for system, _, record_ids in record_key_chunks(record_keys):
        rows = session.execute(
            sa.select(
                record_match_key.c.source_record_id,
                *(record_match_key.c[name] for name in KEY_COLUMNS),
            ).where(
                record_match_key.c.source_system == system,
                record_match_key.c.source_record_id.in_(record_ids),
            )
        ).all()
        if rows:
            frame = pd.DataFrame(rows, columns=["source_record_id", *KEY_COLUMNS])
            frame.index = record_key_index([system] * len(frame), frame["source_record_id"])
            parts.append(frame[list(KEY_COLUMNS)].astype(np.int64))
    if not parts:
        empty = pd.DataFrame(columns=list(KEY_COLUMNS), dtype=np.int64)
        empty.index = pd.Index([], dtype=object)
        return empty
    return pd.concat(parts)


def value_counts(keys: pd.DataFrame) -> dict[str, pd.Series]:
    """Field -> records holding each value (hash != 0) among `keys`."""
    counted = {}
    for field in VALUE_FIELDS:
        values = keys[f"value_{field}"].to_numpy(dtype=np.int64)
        counted[field] = pd.Series(values[values != 0]).value_counts(sort=False)
    return counted


def _rewrite(session: Session, keys: pd.DataFrame) -> None:
    """Every record's keys anew: the indexes are dropped and built again after the insert (a
    third of the time of keeping fifteen indexes up to date row by row), in the transaction."""
    connection = session.connection()
    for index in record_match_key.indexes:
        index.drop(connection)
    session.execute(sa.delete(record_match_key))
    session.execute(sa.delete(TermFrequency))
    _insert_keys(session, keys)
    for index in record_match_key.indexes:
        index.create(connection)
    counts = value_counts(keys)
    _insert_counts(session, {field: counts[field] for field in VALUE_FIELDS})


def _insert_keys(session: Session, keys: pd.DataFrame) -> None:
    systems, record_ids = split_record_keys(keys.index)
    # arrays, which insert_columns turns into Python values a batch at a time
    columns: dict[str, np.ndarray] = {"source_system": systems, "source_record_id": record_ids}
    for name in KEY_COLUMNS:
        columns[name] = keys[name].to_numpy(dtype=np.int64)
    insert_columns(session, RecordMatchKey, columns)


def _insert_counts(session: Session, counts: dict[str, pd.Series]) -> None:
    fields = [field for field, counted in counts.items() for _ in range(len(counted))]
    hashes = [int(h) for counted in counts.values() for h in counted.index]
    records = [int(n) for counted in counts.values() for n in counted.to_numpy()]
    insert_columns(
        session, TermFrequency, {"field": fields, "value_hash": hashes, "records": records}
    )


def stored_counts(session: Session, field: str, hashes: Iterable[int]) -> pd.Series:
    """`term_frequency.records` of those of `hashes` the table holds for `field`."""
    counted: dict[int, int] = {}
    for chunk in chunks(sorted({int(h) for h in hashes}), CHUNK):
        rows = session.execute(
            sa.select(TermFrequency.value_hash, TermFrequency.records).where(
                TermFrequency.field == field, TermFrequency.value_hash.in_(chunk)
            )
        ).all()
        counted.update((int(h), int(n)) for h, n in rows)
    return pd.Series(counted, dtype=np.int64)


def _move_counts(
    session: Session, added: dict[str, pd.Series], removed: dict[str, pd.Series]
) -> None:
    """Add `added` to the counts and take `removed` off; a count that reaches 0 is deleted."""
    fresh: dict[str, pd.Series] = {}
    for field in VALUE_FIELDS:
        moved = added[field].sub(removed[field], fill_value=0).astype(np.int64)
        moved = moved[moved != 0]
        if moved.empty:
            continue
        before = stored_counts(session, field, moved.index)
        now = before.reindex(moved.index).fillna(0).astype(np.int64) + moved
        gone = now.index[(now <= 0) & now.index.isin(before.index)]
        kept = now[(now > 0) & now.index.isin(before.index)]
        fresh[field] = now[(now > 0) & ~now.index.isin(before.index)]
        for chunk in chunks([int(h) for h in gone]):
            session.execute(
                sa.delete(TermFrequency).where(
                    TermFrequency.field == field, TermFrequency.value_hash.in_(chunk)
                )
            )
        if len(kept):
            table = TermFrequency.__table__
            assert isinstance(table, sa.Table)
            session.execute(
                sa.update(table)
                .where(table.c.field == sa.bindparam("f"), table.c.value_hash == sa.bindparam("h"))
                .values(records=sa.bindparam("n")),
                [{"f": field, "h": int(h), "n": int(n)} for h, n in kept.items()],
            )
    _insert_counts(session, fresh)
