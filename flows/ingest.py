"""Ingest: read every channel of channels.yaml and map its rows to the standard record.

Only reading and mapping happen here. Rows that are structurally unusable (broken row, no
record id, a record id seen before in the channel) leave as rejects with their reasons; every
other row goes on to standardization and validation with its lineage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from mdm.config import ChannelConfig, ChannelsConfig
from mdm.errors import MdmError, SourceError
from mdm.schema import record_key
from mdm.sources import READ_PROBLEM, ROW_NUMBER, RawTable, read_source
from mdm.standardize.frame import standardize_frame

REJECT_COLUMNS = (
    "source_system",
    "source_record_id",
    "source_file",
    "source_row",
    "raw_payload",
    "reasons",
)


@dataclass
class ChannelBatch:
    """One channel's rows mapped to canonical columns, and the rows rejected while reading."""

    channel: str
    records: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int = 0
    files: list[str] = field(default_factory=list)


def reason(field_name: str | None, rule: str, message: str) -> dict[str, str | None]:
    """One reason a row was rejected or flagged; quarantine and steward tasks store these."""
    return {"field": field_name, "rule": rule, "message": message}


def check_columns(table: RawTable, channel: ChannelConfig) -> None:
    """A mapped column missing from the file is a configuration error, named precisely."""
    present = set(table.columns)
    if channel.record_id not in present:
        raise SourceError(
            f"{table.source}: channel '{channel.name}': record_id column '{channel.record_id}'"
            f" not found (columns: {', '.join(table.columns)})"
        )
    for canonical, source in channel.columns.items():
        for column in [source] if isinstance(source, str) else source:
            if column not in present:
                raise SourceError(
                    f"{table.source}: channel '{channel.name}': column '{column}' (for {canonical})"
                    f" not found (columns: {', '.join(table.columns)})"
                )


def map_table(table: RawTable, channel: ChannelConfig, ingested_at: dt.datetime) -> pd.DataFrame:
    """Canonical columns (raw values) plus lineage, one row per row of the file."""
    raw = table.frame
    payloads = [
        json.dumps(dict(zip(table.columns, values, strict=True)), ensure_ascii=False, default=str)
        for values in raw[table.columns].itertuples(index=False, name=None)
    ]
    mapped = pd.DataFrame(index=raw.index)
    mapped["source_system"] = channel.name
    mapped["source_record_id"] = raw[channel.record_id].map(_record_id)
    mapped["source_file"] = table.source
    mapped["source_row"] = raw[ROW_NUMBER]
    mapped["raw_payload"] = payloads
    mapped["raw_hash"] = [hashlib.sha256(p.encode()).hexdigest() for p in payloads]
    mapped["ingested_at"] = ingested_at
    mapped["trust"] = channel.trust
    mapped[READ_PROBLEM] = raw[READ_PROBLEM]
    for canonical, source in channel.columns.items():
        if isinstance(source, str):
            mapped[canonical] = raw[source]
        else:
            mapped[canonical] = _join_columns(raw[source])
    for canonical, value in channel.defaults.items():
        if canonical in mapped:
            mapped[canonical] = mapped[canonical].where(~_blank(mapped[canonical]), value)
        else:
            mapped[canonical] = value
    return mapped


def _record_id(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, float) and value.is_integer():  # spreadsheets turn 1001 into 1001.0
        value = int(value)
    text = str(value).strip()
    return text or None


def _blank(column: pd.Series) -> pd.Series:
    return column.isna() | (column.astype(str).str.strip() == "")


def _join_columns(columns: pd.DataFrame) -> pd.Series:
    def join(values: tuple[Any, ...]) -> str | None:
        parts = [str(v).strip() for v in values if v is not None and not pd.isna(v)]
        return " ".join(p for p in parts if p) or None

    return pd.Series(
        [join(row) for row in columns.itertuples(index=False, name=None)],
        index=columns.index,
        dtype=object,
    )


def split_rejects(mapped: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Separate rows unusable before any standardization: broken, no record id, repeated id."""
    reasons: list[list[dict[str, str | None]]] = [[] for _ in range(len(mapped))]
    problems = mapped[READ_PROBLEM].tolist()
    ids = mapped["source_record_id"].tolist()
    first_seen: dict[str, str] = {}
    for position, (problem, record_id) in enumerate(zip(problems, ids, strict=True)):
        if problem is not None and not pd.isna(problem):
            reasons[position].append(reason(None, "readable_row", str(problem)))
        if pd.isna(record_id):
            reasons[position].append(
                reason("source_record_id", "record_id_present", "no record id")
            )
        elif record_id in first_seen:
            reasons[position].append(
                reason(
                    "source_record_id",
                    "record_id_unique",
                    f"record id repeats the row at {first_seen[record_id]}",
                )
            )
        elif not reasons[position]:
            row = mapped["source_row"].iat[position]
            first_seen[record_id] = f"{mapped['source_file'].iat[position]} row {row}"
    rejected = [bool(r) for r in reasons]
    keep = mapped.loc[[not r for r in rejected]].drop(columns=[READ_PROBLEM])
    rejects = mapped.loc[rejected, list(REJECT_COLUMNS[:-1])].copy()
    rejects["reasons"] = [r for r in reasons if r]
    return keep, rejects


def _retry_unless_user_error(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a passing fault (a database hiccup), never a broken file: that fails the same way."""
    return not isinstance(state.result(raise_on_failure=False), MdmError)


@task(
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=2,
    retry_condition_fn=_retry_unless_user_error,
)
def ingest_channel(config: ChannelsConfig, channel: ChannelConfig) -> ChannelBatch:
    """Read all files of one channel; the only task that touches channel data, so it retries."""
    ingested_at = dt.datetime.now(dt.UTC)
    paths = [None] if channel.format == "sql" else config.files(channel)
    frames = []
    files = []
    for path in paths:
        table = read_source(channel, path)
        check_columns(table, channel)
        frames.append(map_table(table, channel, ingested_at))
        files.append(table.source)
    mapped = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    records, rejects = split_rejects(mapped)
    return ChannelBatch(channel.name, records, rejects, rows_read=len(mapped), files=files)


@task(cache_policy=NO_CACHE)
def standardize_channel(batch: ChannelBatch, channel: ChannelConfig) -> ChannelBatch:
    """Bring a channel's mapped rows to the standard record, keyed by record_key."""
    records = standardize_frame(batch.records, formats=channel.formats, units=channel.units)
    records.index = [
        record_key(system, record_id)
        for system, record_id in zip(
            records["source_system"], records["source_record_id"], strict=True
        )
    ]
    records.index.name = "record_key"
    batch.records = records
    return batch


@flow(name="ingest", log_prints=False)
def ingest_flow(config: ChannelsConfig) -> list[ChannelBatch]:
    """Read and standardize every channel.

    A channel that cannot be read stops the run before anything is written.
    """
    return [
        standardize_channel(ingest_channel(config, channel), channel) for channel in config.channels
    ]
