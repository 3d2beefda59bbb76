"""Reads of the warehouse state a run builds on: stored records, cross-references, customers,
steward decisions, earlier deliveries and segments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.customer_ids import customer_number
from mdm.matching.golden import FieldOverride
from mdm.matching.keys import from_bytes, record_keys
from mdm.matching.neighbourhood import Population
from mdm.schema import (
    CANONICAL_FIELDS,
    DATE_FIELDS,
    DATETIME_FIELDS,
    DERIVED_FIELDS,
    record_key_index,
)
from mdm.standardize.dates import CHINA_TZ
from warehouse.models import (
    Customer,
    CustomerSegment,
    CustomerXref,
    PipelineRun,
    SourceRecord,
    StewardDecision,
)
from warehouse.values import column_value

# Stored records also carry a derived date and the lineage time of their ingest.
STORED_DATE_FIELDS = (*DATE_FIELDS, "id_birth_date")
STORED_DATETIME_FIELDS = (*DATETIME_FIELDS, "ingested_at")


STORED_RECORD_FIELDS = tuple(dict.fromkeys((*CANONICAL_FIELDS, *DERIVED_FIELDS, "trust")))


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
    # Set when only the delta's neighbourhood was read (warehouse/delta_state.py): ``records``,
    # ``customer_of`` and ``customers`` hold the records sharing a key with the delta and every
    # member of their customers; these say what the rest of the warehouse holds.
    partial: PartialRead | None = None


@dataclass(frozen=True)
class PartialRead:
    """What a run that read only its delta's neighbourhood knows of the rest of the warehouse."""

    records_total: int  # records the warehouse holds
    customers_elsewhere: int  # customers none of the read records belongs to
    population: Population  # block sizes and value shares of the whole warehouse
    # this run's records that the warehouse holds -> their customer (read or not)
    brought_owners: pd.Series
    run_keys: pd.DataFrame  # KEY_COLUMNS of this run's records, computed to find the neighbours
    delta: pd.Index  # the run's new and changed records and the newly decided ones


# What a run reads of customer_xref: each record's customer and the score that put it there.
XREF_READ = (
    CustomerXref.source_system,
    CustomerXref.source_record_id,
    CustomerXref.customer_id,
    CustomerXref.match_score,
)


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
            sa.select(*XREF_READ).order_by(
                CustomerXref.source_system, CustomerXref.source_record_id
            )
        ).all(),
        columns=[column.key for column in XREF_READ],
    )
    xref_keys = record_key_index(xref["source_system"], xref["source_record_id"])
    xref.index = records.index if xref_keys.equals(records.index) else xref_keys
    # Categorical: a run compares customer ids by code instead of hashing a million strings.
    customer_of = xref["customer_id"].astype(object).astype("category")
    parameters, last_start = last_successful_run(session)
    customers = read_customers(session)
    must, cannot = _pair_decisions(session)
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
        next_customer_number=next_customer_number(session),
        match_keys=match_keys,
        recomputed_keys=records.index[stale],
    )


def read_customers(session: Session, customer_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The `customer` rows (all, or those of ``customer_ids``), index customer_id."""
    columns = [
        sa.cast(c, sa.Text).label(c.name) if c.name == "field_sources" else c
        for c in Customer.__table__.columns
    ]
    if customer_ids is None:
        customers = pd.read_sql(sa.select(*columns), session.connection())
    else:
        parts = [
            pd.read_sql(
                sa.select(*columns).where(
                    Customer.customer_id.in_(list(customer_ids[at : at + 5000]))
                ),
                session.connection(),
            )
            for at in range(0, len(customer_ids), 5000)
        ]
        if not parts:
            parts = [pd.read_sql(sa.select(*columns).where(sa.false()), session.connection())]
        customers = pd.concat(parts, ignore_index=True)
    customers = customers.set_index("customer_id")
    customers["field_sources"] = [orjson.loads(text) for text in customers["field_sources"]]
    customers.index = customers.index.astype(object)  # Arrow-backed strings search slowly
    # PostgreSQL hands back instants, SQLite the China wall time it was given: one form for all
    last_txn = pd.to_datetime(customers["last_txn_at"])
    if isinstance(last_txn.dtype, pd.DatetimeTZDtype):
        customers["last_txn_at"] = last_txn.dt.tz_convert(CHINA_TZ)
    else:
        customers["last_txn_at"] = last_txn.dt.tz_localize(CHINA_TZ)
    return customers


def records_from_json(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Stored standardized records back into a frame with the types the matcher expects."""
    frame = pd.DataFrame(
        list(rows),
        columns=["record_key", *STORED_RECORD_FIELDS, "source_system", "source_record_id"],
    )
    for column in STORED_DATE_FIELDS:
        frame[column] = pd.to_datetime(frame[column], errors="coerce").dt.date
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    for column in STORED_DATETIME_FIELDS:
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


def last_successful_run(session: Session) -> tuple[dict[str, Any] | None, dt.datetime | None]:
    """The fitted model and start of the last run that succeeded (None, None before any): an
    incremental run reuses the model and looks for pair decisions made since that start."""
    row = session.execute(
        sa.select(PipelineRun.match_parameters, PipelineRun.started_at)
        .where(PipelineRun.status == "success")
        .order_by(PipelineRun.finished_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else (None, None)


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


def read_current_segments(session: Session) -> pd.DataFrame:
    """customer_id, segment_type, segment_value of every current assignment."""
    return pd.read_sql(
        sa.select(
            CustomerSegment.customer_id, CustomerSegment.segment_type, CustomerSegment.segment_value
        ),
        session.connection(),
    )


def next_customer_number(session: Session) -> int:
    """The number the next new customer gets: one above the highest ever given (ids are never
    reused, so retired customers count)."""
    highest = session.execute(sa.select(sa.func.max(Customer.customer_id))).scalar()
    return customer_number(highest) + 1 if highest else 1
