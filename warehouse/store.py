"""Reads of warehouse state that a run needs, and the one-transaction write of a run's result.

Data-access functions take the session (or connection) as their first argument and everything
else by keyword; SQL is always built by SQLAlchemy, never pasted together.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.matching.keys import from_bytes, record_keys, to_bytes
from mdm.schema import CANONICAL_FIELDS, DERIVED_FIELDS, GOLDEN_FIELDS
from mdm.standardize.dates import CHINA_TZ
from warehouse.models import (
    Customer,
    CustomerHistory,
    CustomerSegment,
    CustomerSegmentHistory,
    CustomerXref,
    PipelineRun,
    Quarantine,
    RmAlert,
    SourceRecord,
    StewardDecision,
    StewardTask,
)

CHUNK = 5_000  # rows per executemany: large enough to be fast, small enough for any driver
DATE_FIELDS = ("birth_date", "risk_assessed_on", "id_birth_date")
DATETIME_FIELDS = ("source_updated_at", "last_txn_at", "ingested_at")
STORED_RECORD_FIELDS = tuple(dict.fromkeys((*CANONICAL_FIELDS, *DERIVED_FIELDS, "trust")))


def json_ready(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO text, NaN as null."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def json_safe(value: Any) -> Any:
    """A nested structure as JSON can hold it (numpy scalars and dates inside dicts and lists)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return json_ready(value)


def db_ready(value: Any) -> Any:
    """A value as a column takes it: NaN/NaT as NULL, numpy scalars as Python ones, and
    timestamps as instants (standardized timestamps are China wall time without a zone)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return as_instant(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def as_instant(moment: dt.datetime) -> dt.datetime:
    """An aware datetime; a naive one is China wall time, the pipeline's convention."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA_TZ)


# ---------------------------------------------------------------- reading state


@dataclass
class WarehouseState:
    """What earlier runs left that this run builds on."""

    records: pd.DataFrame  # standardized source records, index record_key
    customer_of: pd.Series  # record_key -> customer_id (current xref)
    customers: pd.DataFrame  # index customer_id, GOLDEN_FIELDS + bookkeeping
    must_link: list[tuple[str, str]] = field(default_factory=list)
    cannot_link: list[tuple[str, str]] = field(default_factory=list)
    # record_key -> sha256 of the raw row it was read from: an unchanged hash is not rematched
    raw_hashes: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    match_scores: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))  # by record
    match_parameters: dict[str, Any] | None = None  # the last successful run's fitted model
    # customer_id -> field -> the steward's value, which beats survivorship on every run
    field_overrides: dict[str, dict[str, FieldOverride]] = field(default_factory=dict)
    # records of pairs a steward confirmed or rejected since the last successful run began:
    # an incremental run rematches them, or the decision would wait for their data to change
    newly_decided: list[str] = field(default_factory=list)
    next_customer_number: int = 1
    # KEY_COLUMNS of each of ``records``, in their order (mdm/matching/keys.py); None: not read
    match_keys: pd.DataFrame | None = None
    # records whose stored keys were missing or of an older scheme, recomputed on reading: the
    # load stores them, so the next run reads them
    recomputed_keys: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))


@dataclass(frozen=True)
class FieldOverride:
    """A golden field value a steward chose or corrected (steward_decision `decision_id`)."""

    value: Any
    decision_id: int


def read_state(session: Session) -> WarehouseState:
    """Everything a full run needs from the warehouse."""
    # JSON as text, parsed by orjson: SQLAlchemy's JSON type runs the standard library's
    # json.loads per row, which took 20 of the 53 s of reading a million records.
    # Records and xref in one order (their shared primary key), so that a run lines them up
    # without looking a million keys up.
    rows = session.execute(
        sa.select(
            sa.cast(SourceRecord.record, sa.Text), SourceRecord.raw_hash, SourceRecord.match_keys
        ).order_by(SourceRecord.source_system, SourceRecord.source_record_id)
    ).all()
    records = records_from_json([orjson.loads(record) for record, _, _ in rows])
    raw_hashes = pd.Series([raw_hash for _, raw_hash, _ in rows], index=records.index, dtype=object)
    match_keys, stale = from_bytes([keys for _, _, keys in rows], records.index)
    if stale.any():
        match_keys.iloc[np.flatnonzero(stale)] = record_keys(records.loc[stale]).to_numpy()
    xref = pd.DataFrame(
        session.execute(
            sa.select(
                CustomerXref.source_system,
                CustomerXref.source_record_id,
                CustomerXref.customer_id,
                CustomerXref.match_score,
            ).order_by(CustomerXref.source_system, CustomerXref.source_record_id)
        ).all(),
        columns=["source_system", "source_record_id", "customer_id", "match_score"],
    )
    xref_keys = pd.Index(xref["source_system"] + ":" + xref["source_record_id"], dtype=object)
    xref.index = records.index if xref_keys.equals(records.index) else xref_keys
    # Categorical: a run compares customer ids by code instead of hashing a million strings.
    customer_of = xref["customer_id"].astype(object).astype("category")
    last_success = session.execute(
        sa.select(PipelineRun.match_parameters, PipelineRun.started_at)
        .where(PipelineRun.status == "success")
        .order_by(PipelineRun.finished_at.desc())
        .limit(1)
    ).first()
    parameters, last_start = last_success if last_success is not None else (None, None)
    columns = [
        sa.cast(c, sa.Text).label(c.name) if c.name == "field_sources" else c
        for c in Customer.__table__.columns
    ]
    customers = pd.read_sql(sa.select(*columns), session.connection()).set_index("customer_id")
    customers["field_sources"] = [orjson.loads(text) for text in customers["field_sources"]]
    customers.index = customers.index.astype(object)  # Arrow-backed strings search slowly
    # PostgreSQL hands back instants, SQLite the China wall time it was given: one form for all
    last_txn = pd.to_datetime(customers["last_txn_at"])
    if isinstance(last_txn.dtype, pd.DatetimeTZDtype):
        customers["last_txn_at"] = last_txn.dt.tz_convert(CHINA_TZ)
    else:
        customers["last_txn_at"] = last_txn.dt.tz_localize(CHINA_TZ)
    must, cannot = _pair_decisions(session)
    highest = session.execute(sa.select(sa.func.max(Customer.customer_id))).scalar()
    return WarehouseState(
        records=records,
        customer_of=customer_of,
        customers=customers,
        must_link=must,
        cannot_link=cannot,
        raw_hashes=raw_hashes,
        match_scores=xref["match_score"].astype(float),
        match_parameters=parameters,
        field_overrides=field_overrides(session),
        newly_decided=_pair_records_decided_since(session, last_start),
        next_customer_number=customer_number(highest) + 1 if highest else 1,
        match_keys=match_keys,
        recomputed_keys=records.index[stale],
    )


def records_from_json(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Stored standardized records back into a frame with the types the matcher expects."""
    frame = pd.DataFrame(
        list(rows),
        columns=["record_key", *STORED_RECORD_FIELDS, "source_system", "source_record_id"],
    )
    for column in DATE_FIELDS:
        frame[column] = pd.to_datetime(frame[column], errors="coerce").dt.date
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    for column in DATETIME_FIELDS:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], errors="coerce", utc=True)
    frame = frame.set_index("record_key")
    frame.index = frame.index.astype(object)  # Arrow-backed strings look keys up slowly
    return frame


def _pair_decisions(session: Session) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Steward decisions on pairs, latest decision per pair wins.

    A split customer is a not-a-match between every record split off and every record left.
    """
    latest: dict[tuple[str, str], str] = {}
    decisions = session.execute(
        sa.select(StewardDecision.action, StewardDecision.subject)
        .where(StewardDecision.action.in_(["confirm_match", "not_a_match", "split_customer"]))
        .order_by(StewardDecision.decision_id)
    ).all()
    for action, subject in decisions:
        if action == "split_customer":
            for moved in subject["records"]:
                for kept in subject["rest"]:
                    left, right = sorted((moved, kept))
                    latest[(left, right)] = "not_a_match"
            continue
        left, right = sorted((subject["left"], subject["right"]))
        latest[(left, right)] = action
    must = [pair for pair, action in latest.items() if action == "confirm_match"]
    cannot = [pair for pair, action in latest.items() if action == "not_a_match"]
    return must, cannot


def _pair_records_decided_since(session: Session, since: dt.datetime | None) -> list[str]:
    query = sa.select(StewardDecision.subject).where(
        StewardDecision.action.in_(["confirm_match", "not_a_match"])
    )
    if since is not None:
        query = query.where(StewardDecision.decided_at >= since)
    subjects = session.execute(query).scalars()
    return sorted({key for subject in subjects for key in (subject["left"], subject["right"])})


FIELD_DECISIONS = ("choose_value", "correct_value")


def field_overrides(session: Session) -> dict[str, dict[str, FieldOverride]]:
    """The latest chosen or corrected value of each customer's field."""
    overrides: dict[str, dict[str, FieldOverride]] = {}
    decisions = session.execute(
        sa.select(StewardDecision.decision_id, StewardDecision.subject, StewardDecision.after)
        .where(StewardDecision.action.in_(FIELD_DECISIONS))
        .order_by(StewardDecision.decision_id)
    ).all()
    for decision_id, subject, after in decisions:
        name = subject["field"]
        value = column_value(name, (after or {}).get("value"))
        overrides.setdefault(subject["customer_id"], {})[name] = FieldOverride(value, decision_id)
    return overrides


def column_value(name: str, value: Any) -> Any:
    """A JSON value (ISO text for dates) as the `customer` column `name` holds it."""
    if value is None:
        return None
    python_type = Customer.__table__.c[name].type.python_type
    if python_type is dt.date:
        return dt.date.fromisoformat(str(value))
    if python_type is dt.datetime:
        return dt.datetime.fromisoformat(str(value))
    return python_type(value)


CUSTOMER_PREFIX = "C"
CUSTOMER_DIGITS = 9


def customer_number(customer_id: str) -> int:
    return int(customer_id.removeprefix(CUSTOMER_PREFIX))


def format_customer_id(number: int) -> str:
    """C000000042: sortable, fixed width, never reused."""
    return f"{CUSTOMER_PREFIX}{number:0{CUSTOMER_DIGITS}d}"


# ---------------------------------------------------------------- writing a run


@dataclass
class RunOutput:
    """Everything one run writes, computed before the write transaction opens."""

    run_id: str
    records: pd.DataFrame  # this run's valid standardized records, index record_key
    xref: pd.DataFrame  # index record_key: customer_id, match_score of records the run clustered
    customers: (
        pd.DataFrame
    )  # index customer_id: GOLDEN_FIELDS + quality_score, count_sources, field_sources
    retired_customer_ids: list[str]
    segments: pd.DataFrame  # customer_id, segment_type, segment_value, score, rule_version
    tasks: list[
        dict[str, Any]
    ]  # task_key, task_type, priority, customer_id, source_system, details
    quarantined: pd.DataFrame  # REJECT_COLUMNS
    counts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    match_parameters: dict[str, Any] | None = None
    report_path: str | None = None
    # the run date the segment rules were applied on (customer_segment_history.changed_on)
    segments_as_of: dt.date | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)  # rm_alert rows
    # KEY_COLUMNS of this run's records (index record_key), stored with the new and changed ones
    match_keys: pd.DataFrame | None = None
    # keys recomputed for stored records whose stored keys were missing or stale: updated in place
    refreshed_keys: pd.DataFrame | None = None


def delivered_files(session: Session) -> dict[str, str]:
    """sha256 of every file an earlier successful run read -> the first such run."""
    runs = session.execute(
        sa.select(PipelineRun.run_id, PipelineRun.counts)
        .where(PipelineRun.status == "success")
        .order_by(PipelineRun.started_at)
    ).all()
    first: dict[str, str] = {}
    for run_id, counts in runs:
        for files in (counts or {}).get("files", {}).values():
            for digest in files.values():
                first.setdefault(digest, run_id)
    return first


def start_run(session: Session, *, run_id: str, sources_dir: str) -> None:
    session.add(
        PipelineRun(
            run_id=run_id,
            status="running",
            sources_dir=sources_dir,
            started_at=dt.datetime.now(dt.UTC),
            counts={},
            timings={},
        )
    )


def fail_run(session: Session, *, run_id: str, error: str) -> None:
    session.execute(
        sa.update(PipelineRun)
        .where(PipelineRun.run_id == run_id)
        .values(status="failed", error=error, finished_at=dt.datetime.now(dt.UTC))
    )


def write_run(session: Session, output: RunOutput) -> dict[str, int]:
    """Write a run's whole result; the caller commits once, so a failure leaves nothing half done.

    Returns what changed: customers created, updated, retired; tasks opened.
    """
    now = dt.datetime.now(dt.UTC)
    _write_source_records(session, output, now)
    changes = _write_customers(session, output, now)
    _write_xref(session, output, now)
    changes["segment_changes"] = _write_segments(session, output, now)
    changes["alerts_raised"] = _write_alerts(session, output, now)
    opened = _open_tasks(session, output, now)
    changes["tasks_opened"] = sum(opened.values())
    changes.update({f"tasks_opened_{kind}": count for kind, count in opened.items()})
    _write_quarantine(session, output, now)
    session.execute(
        sa.update(PipelineRun)
        .where(PipelineRun.run_id == output.run_id)
        .values(
            status="success",
            finished_at=now,
            counts=json_safe({**output.counts, **changes}),
            timings=json_safe(output.timings),
            match_parameters=json_safe(output.match_parameters),
            report_path=output.report_path,
        )
    )
    return changes


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _record_key_chunks(keys: pd.Index) -> Iterator[tuple[str, np.ndarray, list[str]]]:
    """(source system, positions in `keys`, record ids) in chunks of one system each, so that a
    chunk is one `source_system = ? AND source_record_id IN (...)` on a table keyed by record."""
    if len(keys) == 0:
        return
    parts = pd.Series(keys.to_numpy(), dtype=object).str.partition(":")
    record_ids = parts[2].to_numpy()
    for system, positions in parts.groupby(0, sort=False).indices.items():
        for start in range(0, len(positions), CHUNK):
            chunk = positions[start : start + CHUNK]
            yield str(system), chunk, record_ids[chunk].tolist()


def _stored_by_record_id(
    session: Session, model: Any, columns: Sequence[str], *, system: str, record_ids: list[str]
) -> pd.DataFrame:
    """`columns` of one system's stored rows, in the order of `record_ids`; a record the
    warehouse does not hold yet is a row of nulls."""
    rows = session.execute(
        sa.select(model.source_record_id, *(getattr(model, name) for name in columns)).where(
            model.source_system == system, model.source_record_id.in_(record_ids)
        )
    ).all()
    stored = pd.DataFrame(rows, columns=["source_record_id", *columns])
    return stored.set_index("source_record_id").reindex(record_ids)


def _replace_by_record_id(
    session: Session,
    model: Any,
    *,
    system: str,
    stale_ids: list[str],
    rows: list[dict[str, Any]],
) -> None:
    """Delete the stored rows of `stale_ids` and insert `rows` (their new form, and new records)."""
    if stale_ids:
        session.execute(
            sa.delete(model).where(
                model.source_system == system, model.source_record_id.in_(stale_ids)
            )
        )
    if rows:
        session.execute(sa.insert(model), rows)


def _write_source_records(session: Session, output: RunOutput, now: dt.datetime) -> None:
    """Store the records that are new or whose raw row changed (raw_hash). A record read again
    unchanged keeps its row as stored, ingested_at and last_run_id included: rewriting it would
    make the load cost the size of the delivery rather than of what changed."""
    records = output.records
    for system, positions, record_ids in _record_key_chunks(records.index):
        chunk = records.iloc[positions]
        stored = _stored_by_record_id(
            session, SourceRecord, ["raw_hash"], system=system, record_ids=record_ids
        )
        changed = stored["raw_hash"].to_numpy() != chunk["raw_hash"].to_numpy()
        known = stored["raw_hash"].notna().to_numpy()
        _replace_by_record_id(
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
    for system, positions, record_ids in _record_key_chunks(keys.index):
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


def _customer_values(row: dict[str, Any]) -> dict[str, Any]:
    return {name: db_ready(row.get(name)) for name in GOLDEN_FIELDS}


# What a run sets on each customer it survives besides the golden fields. A difference in
# quality_score, count_sources or field_sources alone rewrites the row but makes no new version:
# updated_at and customer_history follow the golden fields (and a reactivation) only.
CUSTOMER_BOOKKEEPING = ("quality_score", "count_sources", "field_sources", "is_active")
SCORE_TOLERANCE = 1e-9  # quality, match and segment scores: a closer difference is float noise


def _bookkeeping(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "quality_score": float(row["quality_score"]),
        "count_sources": int(row["count_sources"]),
        "field_sources": json_safe(row["field_sources"]),
        "is_active": True,
    }


@dataclass
class _CustomerWrites:
    """What one chunk of a run's customers writes; a customer whose golden fields and
    bookkeeping the warehouse already holds is in none of the lists."""

    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # golden fields, or reactivated
    refreshed: list[dict[str, Any]] = field(default_factory=list)  # bookkeeping only
    versions: list[dict[str, Any]] = field(default_factory=list)  # customer_history rows


def _write_customers(session: Session, output: RunOutput, now: dt.datetime) -> dict[str, int]:
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
        writes = _customer_writes(chunk, stored, output.run_id, now)
        _apply_customer_writes(session, writes, now)
        created += len(writes.new)
        updated += len(writes.changed)
    return {
        "customers_created": created,
        "customers_updated": updated,
        "customers_retired": _retire_customers(session, output.retired_customer_ids, now),
    }


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
        current = stored.get(customer_id)
        if current is None or _differs(current, values) or not current["is_active"]:
            written = {
                "customer_id": customer_id,
                **values,
                **_bookkeeping(row),
                "last_run_id": run_id,
            }
            if current is None:
                writes.new.append({**written, "created_at": now, "updated_at": now})
            else:
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
    if writes.new:
        # render_nulls: the ORM otherwise leaves a None out of the row, and every pattern of
        # empty fields became a batch of its own (47,000 INSERTs for 61,500 new customers)
        session.execute(sa.insert(Customer).execution_options(render_nulls=True), writes.new)
    # ORM bulk UPDATE by primary key: one executemany per list, no objects in the session
    for rows in (writes.changed, writes.refreshed):
        if rows:
            session.execute(sa.update(Customer), rows)
    # the changed customers' current versions close before theirs are inserted, never after
    _close_versions(session, [row["customer_id"] for row in writes.changed], now)
    if writes.versions:
        session.execute(sa.insert(CustomerHistory), writes.versions)


def _retire_customers(session: Session, customer_ids: Sequence[str], now: dt.datetime) -> int:
    """Mark the merged-away customers inactive and close their current version; returns how
    many were still active."""
    retired = 0
    for chunk in _chunks(customer_ids):
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
            _close_versions(session, active, now)
            retired += len(active)
    return retired


def _close_versions(session: Session, customer_ids: list[str], now: dt.datetime) -> None:
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
        not _same_score(before["quality_score"], float(row["quality_score"]))
        or before["count_sources"] != int(row["count_sources"])
        # as computed they are mostly equal already: json_safe, slow on every customer of a
        # large run, only settles the others
        or (sources != before["field_sources"] and json_safe(sources) != before["field_sources"])
    )


def _same_scores(old: pd.Series, new: pd.Series) -> np.ndarray:
    """_same_score over two aligned columns (a null stored score reads as NaN)."""
    return np.isclose(
        pd.to_numeric(old, errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(new, errors="coerce").to_numpy(dtype=float),
        rtol=0,
        atol=SCORE_TOLERANCE,
        equal_nan=True,
    )


def _same_score(old: float | None, new: float | None) -> bool:
    """Equal to SCORE_TOLERANCE; a missing score (NaN is stored as NULL) equals a missing one."""
    old_missing = old is None or math.isnan(old)
    new_missing = new is None or math.isnan(new)
    if old_missing or new_missing:
        return old_missing and new_missing
    assert old is not None and new is not None
    return abs(old - new) <= SCORE_TOLERANCE


def _write_xref(session: Session, output: RunOutput, now: dt.datetime) -> None:
    """Store the records whose customer or match score changed, and the new ones; the others
    keep their row as stored, matched_at and run_id included."""
    xref = output.xref
    for system, positions, record_ids in _record_key_chunks(xref.index):
        chunk = xref.iloc[positions]
        stored = _stored_by_record_id(
            session,
            CustomerXref,
            ["customer_id", "match_score"],
            system=system,
            record_ids=record_ids,
        )
        # a record the warehouse lacks has a null stored customer, so it counts as moved
        moved = stored["customer_id"].to_numpy() != chunk["customer_id"].to_numpy()
        rescored = ~_same_scores(stored["match_score"], chunk["match_score"])
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
        _replace_by_record_id(
            session,
            CustomerXref,
            system=system,
            stale_ids=np.asarray(record_ids, dtype=object)[known & changed].tolist(),
            rows=rows,
        )


def read_current_segments(session: Session) -> pd.DataFrame:
    """customer_id, segment_type, segment_value of every current assignment."""
    return pd.read_sql(
        sa.select(
            CustomerSegment.customer_id, CustomerSegment.segment_type, CustomerSegment.segment_value
        ),
        session.connection(),
    )


def segment_changes(both: pd.DataFrame) -> pd.DataFrame:
    """Assignments whose value differs: customer_id, segment_type, old_value, new_value,
    rule_version. ``both``: stored and new assignments outer-joined on the key (stored columns
    suffixed ``_stored``); a missing side (first assignment, leaving a campaign list) is null."""
    old, new = both["segment_value_stored"], both["segment_value"]
    changed = (old != new) & ~(old.isna() & new.isna())
    return both.loc[changed].rename(
        columns={"segment_value_stored": "old_value", "segment_value": "new_value"}
    )


SEGMENT_COLUMNS = ("segment_value", "score", "rule_version", "next_contact_due")


def _write_segments(session: Session, output: RunOutput, now: dt.datetime) -> int:
    """Write the assignments of this run's customers that are new or differ, delete those that
    no longer hold, and keep every change of value in the history. An unchanged assignment is
    left as stored, `assigned_at` included: it says since when the assignment holds."""
    segments = output.segments
    if segments.empty:
        return 0
    key = ["customer_id", "segment_type"]
    customer_ids = list(segments["customer_id"].unique())
    stored = pd.concat(
        [
            pd.read_sql(
                sa.select(*(getattr(CustomerSegment, c) for c in (*key, *SEGMENT_COLUMNS))).where(
                    CustomerSegment.customer_id.in_(chunk)
                ),
                session.connection(),
            )
            for chunk in _chunks(customer_ids)
        ],
        ignore_index=True,
    )
    both = stored.merge(
        segments[[*key, *SEGMENT_COLUMNS]],
        on=key,
        how="outer",
        suffixes=("_stored", ""),
        indicator=True,
    )
    changes = segment_changes(both)
    differs = (both["_merge"] == "both") & ~_same_segment(both)
    stale = both.loc[(both["_merge"] == "left_only") | differs, key]
    for segment_type, group in stale.groupby("segment_type"):
        for chunk in _chunks(group["customer_id"].tolist()):
            session.execute(
                sa.delete(CustomerSegment).where(
                    CustomerSegment.segment_type == segment_type,
                    CustomerSegment.customer_id.in_(chunk),
                )
            )
    fresh = both.loc[(both["_merge"] == "right_only") | differs, key]
    written = segments.merge(fresh, on=key)
    rows = [
        {**{name: db_ready(value) for name, value in row.items()}, "assigned_at": now}
        for row in written.to_dict("records")
    ]
    for chunk in _chunks(rows):
        session.execute(sa.insert(CustomerSegment), list(chunk))
    changed_on = output.segments_as_of or now.date()
    history = [
        {
            **{name: db_ready(value) for name, value in row.items()},
            "changed_on": changed_on,
            "changed_at": now,
            "run_id": output.run_id,
        }
        for row in changes[
            ["customer_id", "segment_type", "old_value", "new_value", "rule_version"]
        ].to_dict("records")
    ]
    for chunk in _chunks(history):
        session.execute(sa.insert(CustomerSegmentHistory), list(chunk))
    return len(history)


def _same_segment(both: pd.DataFrame) -> pd.Series:
    """Stored and new assignment agree: texts equal, scores to SCORE_TOLERANCE, due dates the
    same day (missing equals missing)."""
    same = pd.Series(True, index=both.index)
    for name in ("segment_value", "rule_version"):
        old, new = both[f"{name}_stored"], both[name]
        same &= (old.astype(object) == new.astype(object)) | (old.isna() & new.isna())
    same &= _same_scores(both["score_stored"], both["score"])
    old_due = pd.to_datetime(both["next_contact_due_stored"], errors="coerce")
    new_due = pd.to_datetime(both["next_contact_due"], errors="coerce")
    same &= (old_due == new_due) | (old_due.isna() & new_due.isna())
    return same


def _write_alerts(session: Session, output: RunOutput, now: dt.datetime) -> int:
    rows = [
        {
            **alert,
            "details": json_safe(alert["details"]),
            "status": "open",
            "created_at": now,
            "run_id": output.run_id,
        }
        for alert in output.alerts
    ]
    for chunk in _chunks(rows):
        session.execute(sa.insert(RmAlert), list(chunk))
    return len(rows)


def _open_tasks(session: Session, output: RunOutput, now: dt.datetime) -> Counter[str]:
    """Open each task once: a key seen before (open, resolved or dismissed) is not reopened."""
    keys = [task["task_key"] for task in output.tasks]
    known: set[str] = set()
    for chunk in _chunks(keys):
        known.update(
            session.execute(sa.select(StewardTask.task_key).where(StewardTask.task_key.in_(chunk)))
            .scalars()
            .all()
        )
    fresh: dict[str, dict[str, Any]] = {}
    for task in output.tasks:
        if task["task_key"] not in known and task["task_key"] not in fresh:
            fresh[task["task_key"]] = {
                **task,
                "details": json_safe(task["details"]),
                "status": "open",
                "created_at": now,
                "run_id": output.run_id,
            }
    for chunk in _chunks(list(fresh.values())):
        session.execute(sa.insert(StewardTask), list(chunk))
    return Counter(task["task_type"] for task in fresh.values())


def _write_quarantine(session: Session, output: RunOutput, now: dt.datetime) -> None:
    rows = [
        {
            "run_id": output.run_id,
            "source_system": row["source_system"],
            "source_record_id": row["source_record_id"],
            "source_file": row["source_file"],
            "source_row": int(row["source_row"]),
            "raw_payload": json.loads(row["raw_payload"]),
            "reasons": json_safe(row["reasons"]),
            "created_at": now,
        }
        for row in output.quarantined.to_dict("records")
    ]
    for chunk in _chunks(rows):
        session.execute(sa.insert(Quarantine), list(chunk))
