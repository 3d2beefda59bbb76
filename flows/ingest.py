"""Ingest: read every channel of channels.yaml and map its rows to the standard record.

Only reading and mapping happen here. Rows that are structurally unusable (broken row, no
record id, a record id seen before in the channel) leave as rejects with their reasons; every
other row goes on to standardization and validation with its lineage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.dask import SEQUENTIAL
from flows.retry import BACKOFF_SECONDS, retry_on_io_error
from mdm.channels.config import ChannelConfig, ChannelsConfig
from mdm.channels.payload import payload_hashes, row_payloads, text_series
from mdm.channels.readers import READ_PROBLEM, ROW_NUMBER, RawTable, empty_table, read_source
from mdm.errors import SourceError
from mdm.schema import REJECT_COLUMNS, record_key_index
from mdm.standardize.frame import standardize_frame


@dataclass
class ChannelBatch:
    """One channel's rows mapped to canonical columns, and the rows rejected while reading."""

    channel: str
    records: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int = 0
    files: list[str] = field(default_factory=list)
    file_hashes: dict[str, str] = field(default_factory=dict)  # file read -> sha256 of its bytes
    # files left unread because an earlier file of the run has the same bytes
    repeated_files: list[dict[str, str]] = field(default_factory=list)


def reason(field_name: str | None, rule: str, message: str) -> dict[str, str | None]:
    """One reason a row was rejected or flagged; quarantine and steward tasks store these."""
    return {"field": field_name, "rule": rule, "message": message}


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _shown_columns(columns: list[str]) -> str:
    """The file's header for a one-line message: a line break or other control character in a
    column name is written as its escape, so the message stays one line."""
    return ", ".join(_UNPRINTABLE.sub(_escape, column) for column in columns)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def check_columns(table: RawTable, channel: ChannelConfig) -> None:
    """A mapped column missing from the file is a configuration error, named precisely."""
    present = set(table.columns)
    if channel.record_id not in present:
        raise SourceError(
            f"{table.source}: channel '{channel.name}': record_id column '{channel.record_id}'"
            f" not found (columns: {_shown_columns(table.columns)})"
        )
    for canonical, source in channel.columns.items():
        for column in [source] if isinstance(source, str) else source:
            if column not in present:
                raise SourceError(
                    f"{table.source}: channel '{channel.name}': column '{column}' (for {canonical})"
                    f" not found (columns: {_shown_columns(table.columns)})"
                )


def map_table(table: RawTable, channel: ChannelConfig, ingested_at: dt.datetime) -> pd.DataFrame:
    """Canonical columns (raw values) plus lineage, one row per row of the file.

    A transactions channel's rows get no raw_hash: nothing compares them with a stored row
    (their payload is kept, for the quarantine of those that do not parse or link).
    """
    raw = table.frame
    payloads = row_payloads(raw, table.columns)
    mapped = pd.DataFrame(index=raw.index)
    mapped["source_system"] = channel.name
    mapped["source_record_id"] = _record_ids(raw[channel.record_id])
    mapped["source_file"] = table.source
    mapped["source_row"] = raw[ROW_NUMBER]
    mapped["raw_payload"] = text_series(payloads, raw.index)
    if channel.kind == "customers":
        mapped["raw_hash"] = text_series(payload_hashes(payloads), raw.index)
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


def _record_ids(column: pd.Series) -> pd.Series:
    # A comprehension with text inline: Series.map's machinery cost 0.8 s a 570,000-row file.
    ids = [
        value.strip() or None if type(value) is str else _record_id(value)
        for value in column.to_numpy(dtype=object)
    ]
    return text_series(pa.array(ids, pa.large_string()), column.index)


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
    """Separate rows unusable before any standardization: broken, no record id, repeated id.

    A record id repeats when an earlier clean row of the channel (readable, with an id) has it;
    that first row is kept. Vectorized: channels have millions of rows.
    """
    positions = np.arange(len(mapped))
    broken = mapped[READ_PROBLEM].notna().to_numpy()
    codes, _ = pd.factorize(mapped["source_record_id"])  # one code per id, -1 for none
    no_id = codes < 0
    clean = ~broken & ~no_id
    first = _first_clean_row(codes, clean)
    repeated = ~no_id & (first < positions)
    rejected = broken | no_id | repeated

    reasons: list[list[dict[str, str | None]]] = []
    files, rows, problems = mapped["source_file"], mapped["source_row"], mapped[READ_PROBLEM]
    for position in np.flatnonzero(rejected):
        found = []
        if broken[position]:
            found.append(reason(None, "readable_row", str(problems.iat[position])))
        if no_id[position]:
            found.append(reason("source_record_id", "record_id_present", "no record id"))
        elif repeated[position]:
            earlier = int(first[position])
            found.append(
                reason(
                    "source_record_id",
                    "record_id_unique",
                    f"record id repeats the row at {files.iat[earlier]} row {rows.iat[earlier]}",
                )
            )
        reasons.append(found)
    keep = (mapped.loc[~rejected] if rejected.any() else mapped).drop(columns=[READ_PROBLEM])
    rejects = mapped.loc[rejected, list(REJECT_COLUMNS[:-1])].copy()
    rejects["reasons"] = reasons
    return keep, rejects


def _first_clean_row(codes: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Per row, the position of the first clean row with its id code; NaN where none is."""
    first_by_code = np.full(codes.max(initial=-1) + 1, np.nan)
    clean_positions = np.flatnonzero(clean)
    found, first_index = np.unique(codes[clean_positions], return_index=True)
    first_by_code[found] = clean_positions[first_index]  # np.unique: the first of each
    first = np.full(len(codes), np.nan)
    has_id = codes >= 0
    first[has_id] = first_by_code[codes[has_id]]
    return first


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def plan_deliveries(
    config: ChannelsConfig,
) -> tuple[dict[str, dict[Path, str]], dict[str, list[dict[str, str]]]]:
    """The files each channel reads, by content: a file whose bytes an earlier file of this run
    already has (a copy under another name, or one file matched by two channels) is read once.

    Returns per channel its files to read with their sha256, and the repeats it leaves out.
    """
    first: dict[str, tuple[str, str]] = {}  # sha256 -> (channel, file) that reads it
    reads: dict[str, dict[Path, str]] = {}
    repeats: dict[str, list[dict[str, str]]] = {}
    for channel in config.channels:
        if channel.format == "sql":
            continue
        reads[channel.name], repeats[channel.name] = {}, []
        for path in config.files(channel):
            digest = file_sha256(path)
            if digest in first:
                earlier_channel, earlier_file = first[digest]
                repeats[channel.name].append(
                    {"file": path.name, "same_as": f"{earlier_channel}/{earlier_file}"}
                )
            else:
                first[digest] = (channel.name, path.name)
                reads[channel.name][path] = digest
    return reads, repeats


@task(
    cache_policy=NO_CACHE,
    retries=len(BACKOFF_SECONDS),
    retry_delay_seconds=BACKOFF_SECONDS,
    retry_condition_fn=retry_on_io_error,
)
def ingest_channel(
    config: ChannelsConfig, channel: ChannelConfig, files: dict[Path, str] | None = None
) -> ChannelBatch:
    """Read a channel's files (all its glob matches unless given, with their sha256) or its
    SQL query; the only task that touches channel data, so it retries."""
    ingested_at = dt.datetime.now(dt.UTC)
    if channel.format == "sql":
        paths: list[Path | None] = [None]
    else:
        files = files if files is not None else {p: file_sha256(p) for p in config.files(channel)}
        paths = list(files)
    frames = []
    names = []
    for path in paths:
        table = read_source(channel, path)
        check_columns(table, channel)
        frames.append(map_table(table, channel, ingested_at))
        names.append(table.source)
    if not frames:  # every file was a repeat of another channel's
        frames.append(map_table(empty_table(channel.source_columns()), channel, ingested_at))
    mapped = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    records, rejects = split_rejects(mapped)
    hashes = {path.name: digest for path, digest in (files or {}).items()}
    return ChannelBatch(
        channel.name, records, rejects, rows_read=len(mapped), files=names, file_hashes=hashes
    )


@task(cache_policy=NO_CACHE)
def standardize_channel(batch: ChannelBatch, channel: ChannelConfig) -> ChannelBatch:
    """Bring a channel's mapped rows to the standard record, keyed by record_key."""
    records = standardize_frame(batch.records, formats=channel.formats, units=channel.units)
    records.index = record_key_index(records["source_system"], records["source_record_id"])
    records.index.name = "record_key"
    batch.records = records
    return batch


def repeated_deliveries(
    batches: list[ChannelBatch], earlier: dict[str, str]
) -> list[dict[str, str]]:
    """Files of this run that were delivered before: copies left unread within the run, and
    files whose bytes an earlier run already read (`earlier`: sha256 -> run id). The latter
    are read again; their unchanged rows change nothing in the warehouse."""
    within = [{"channel": b.channel, **repeat} for b in batches for repeat in b.repeated_files]
    across = [
        {"channel": b.channel, "file": name, "same_as": f"run {earlier[digest]}"}
        for b in batches
        for name, digest in b.file_hashes.items()
        if digest in earlier
    ]
    return within + across


@flow(name="ingest", log_prints=False, task_runner=SEQUENTIAL)
def ingest_flow(config: ChannelsConfig) -> list[ChannelBatch]:
    """Read and standardize every channel, a channel per task (on Dask, at once: flows/dask.py).

    A channel that cannot be read stops the run before anything is written. A file whose
    bytes another file of the run already has is read once (see plan_deliveries).
    """
    reads, repeats = plan_deliveries(config)
    read = [ingest_channel.submit(config, c, reads.get(c.name)) for c in config.channels]
    standardized = [
        standardize_channel.submit(batch, channel)  # type: ignore[call-overload]  # its result
        for batch, channel in zip(read, config.channels, strict=True)
    ]
    for future in read:  # a channel that cannot be read fails the run with its own error
        future.wait()
        if future.state.is_failed():
            future.result()
    batches = [future.result() for future in standardized]
    for batch in batches:
        batch.repeated_files = repeats.get(batch.channel, [])
    return batches
