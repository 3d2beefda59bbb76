"""Reads of warehouse state that a run needs, and the one-transaction write of a run's result.

Data-access functions take the session (or connection) as their first argument and everything
else by keyword; SQL is always built by SQLAlchemy, never pasted together.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

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


@dataclass(frozen=True)
class FieldOverride:
    """A golden field value a steward chose or corrected (steward_decision `decision_id`)."""

    value: Any
    decision_id: int


def read_state(session: Session) -> WarehouseState:
    """Everything a full run needs from the warehouse."""
    rows = session.execute(sa.select(SourceRecord.record, SourceRecord.raw_hash)).all()
    records = records_from_json([record for record, _ in rows])
    raw_hashes = pd.Series([raw_hash for _, raw_hash in rows], index=records.index, dtype=object)
    xref = pd.DataFrame(
        session.execute(
            sa.select(
                CustomerXref.source_system,
                CustomerXref.source_record_id,
                CustomerXref.customer_id,
                CustomerXref.match_score,
            )
        ).all(),
        columns=["source_system", "source_record_id", "customer_id", "match_score"],
    )
    xref.index = pd.Index(xref["source_system"] + ":" + xref["source_record_id"], dtype=object)
    customer_of = xref["customer_id"].astype(object)
    parameters = session.execute(
        sa.select(PipelineRun.match_parameters)
        .where(PipelineRun.status == "success")
        .order_by(PipelineRun.finished_at.desc())
        .limit(1)
    ).scalar()
    customers = pd.read_sql(sa.select(Customer), session.connection()).set_index("customer_id")
    # PostgreSQL hands back instants, SQLite the China wall time it was given: one form for all
    last_txn = pd.to_datetime(customers["last_txn_at"])
    if isinstance(last_txn.dtype, pd.DatetimeTZDtype):
        customers["last_txn_at"] = last_txn.dt.tz_convert(CHINA_TZ)
    else:
        customers["last_txn_at"] = last_txn.dt.tz_localize(CHINA_TZ)
    must, cannot = _pair_decisions(session)
    last_start = session.execute(
        sa.select(PipelineRun.started_at)
        .where(PipelineRun.status == "success")
        .order_by(PipelineRun.finished_at.desc())
        .limit(1)
    ).scalar()
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
    return frame.set_index("record_key")


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
    xref: pd.DataFrame  # record_key index: customer_id, match_score
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


def _delete_by_record_key(session: Session, model: Any, keys: Iterable[str]) -> None:
    by_system: dict[str, list[str]] = {}
    for key in keys:
        system, _, record_id = key.partition(":")
        by_system.setdefault(system, []).append(record_id)
    for system, record_ids in by_system.items():
        for chunk in _chunks(record_ids):
            session.execute(
                sa.delete(model).where(
                    model.source_system == system, model.source_record_id.in_(chunk)
                )
            )


def _write_source_records(session: Session, output: RunOutput, now: dt.datetime) -> None:
    records = output.records
    _delete_by_record_key(session, SourceRecord, records.index)
    stored_columns = [c for c in STORED_RECORD_FIELDS if c in records.columns]
    payloads = records[stored_columns].to_dict("records")
    rows = [
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
            "last_run_id": output.run_id,
        }
        for key, system, record_id, source_file, source_row, raw_hash, payload in zip(
            records.index,
            records["source_system"],
            records["source_record_id"],
            records["source_file"],
            records["source_row"],
            records["raw_hash"],
            payloads,
            strict=True,
        )
    ]
    for chunk in _chunks(rows):
        session.execute(sa.insert(SourceRecord), list(chunk))


def _customer_values(row: dict[str, Any]) -> dict[str, Any]:
    return {name: db_ready(row.get(name)) for name in GOLDEN_FIELDS}


def _write_customers(session: Session, output: RunOutput, now: dt.datetime) -> dict[str, int]:
    existing = {
        customer.customer_id: customer
        for customer in session.execute(sa.select(Customer)).scalars()
    }
    created = updated = 0
    new_rows: list[dict[str, Any]] = []
    history_rows: list[dict[str, Any]] = []
    changed_ids: list[str] = []
    for customer_id, row in output.customers.to_dict("index").items():
        values = _customer_values(row)
        bookkeeping = {
            "quality_score": float(row["quality_score"]),
            "count_sources": int(row["count_sources"]),
            "field_sources": json_safe(row["field_sources"]),
            "is_active": True,
            "last_run_id": output.run_id,
        }
        current = existing.get(str(customer_id))
        if current is None:
            new_rows.append(
                {
                    "customer_id": customer_id,
                    **values,
                    **bookkeeping,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            created += 1
        else:
            before = {name: getattr(current, name) for name in GOLDEN_FIELDS}
            if _differs(before, values) or not current.is_active:
                for name, value in {**values, **bookkeeping}.items():
                    setattr(current, name, value)
                current.updated_at = now
                updated += 1
                changed_ids.append(str(customer_id))
            else:  # unchanged golden fields: keep updated_at, refresh the bookkeeping only
                for name, value in bookkeeping.items():
                    setattr(current, name, value)
                continue
        history_rows.append(
            {
                "customer_id": customer_id,
                "valid_from": now,
                "valid_to": None,
                "fields": {name: json_ready(value) for name, value in values.items()},
                "run_id": output.run_id,
            }
        )
    retired = 0
    for customer_id in output.retired_customer_ids:
        current = existing.get(customer_id)
        if current is not None and current.is_active:
            current.is_active = False
            current.updated_at = now
            retired += 1
            changed_ids.append(customer_id)
    session.flush()
    for chunk in _chunks(new_rows):
        session.execute(sa.insert(Customer), list(chunk))
    for chunk in _chunks(changed_ids):
        session.execute(
            sa.update(CustomerHistory)
            .where(CustomerHistory.customer_id.in_(chunk), CustomerHistory.valid_to.is_(None))
            .values(valid_to=now)
        )
    for chunk in _chunks(history_rows):
        session.execute(sa.insert(CustomerHistory), list(chunk))
    return {
        "customers_created": created,
        "customers_updated": updated,
        "customers_retired": retired,
    }


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


def _write_xref(session: Session, output: RunOutput, now: dt.datetime) -> None:
    _delete_by_record_key(session, CustomerXref, output.xref.index)
    rows = [
        {
            "source_system": key.partition(":")[0],
            "source_record_id": key.partition(":")[2],
            "customer_id": customer_id,
            "match_score": float(score),
            "matched_at": now,
            "run_id": output.run_id,
        }
        for key, customer_id, score in zip(
            output.xref.index, output.xref["customer_id"], output.xref["match_score"], strict=True
        )
    ]
    for chunk in _chunks(rows):
        session.execute(sa.insert(CustomerXref), list(chunk))


def read_current_segments(session: Session) -> pd.DataFrame:
    """customer_id, segment_type, segment_value of every current assignment."""
    return pd.read_sql(
        sa.select(
            CustomerSegment.customer_id, CustomerSegment.segment_type, CustomerSegment.segment_value
        ),
        session.connection(),
    )


def segment_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Assignments whose value differs: customer_id, segment_type, old_value, new_value,
    rule_version. A missing side (first assignment, leaving a campaign list) is null."""
    key = ["customer_id", "segment_type"]
    merged = before[[*key, "segment_value"]].merge(
        after[[*key, "segment_value", "rule_version"]],
        on=key,
        how="outer",
        suffixes=("_old", "_new"),
    )
    old, new = merged["segment_value_old"], merged["segment_value_new"]
    changed = (old != new) & ~(old.isna() & new.isna())
    return merged.loc[changed].rename(
        columns={"segment_value_old": "old_value", "segment_value_new": "new_value"}
    )


def _write_segments(session: Session, output: RunOutput, now: dt.datetime) -> int:
    """Replace the segments of this run's customers and keep every change in the history."""
    segments = output.segments
    if segments.empty:
        return 0
    customer_ids = list(segments["customer_id"].unique())
    before = [
        pd.read_sql(
            sa.select(
                CustomerSegment.customer_id,
                CustomerSegment.segment_type,
                CustomerSegment.segment_value,
            ).where(CustomerSegment.customer_id.in_(chunk)),
            session.connection(),
        )
        for chunk in _chunks(customer_ids)
    ]
    changes = segment_changes(pd.concat(before, ignore_index=True), segments)
    for chunk in _chunks(customer_ids):
        session.execute(sa.delete(CustomerSegment).where(CustomerSegment.customer_id.in_(chunk)))
    rows = [
        {**{name: db_ready(value) for name, value in row.items()}, "assigned_at": now}
        for row in segments.to_dict("records")
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
