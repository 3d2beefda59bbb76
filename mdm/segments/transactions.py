"""The transactions feed (SPEC §2): parse its mapped rows and link each to a golden customer.

A transaction names a source record of another channel (`customer_ref` within `ref_channel`);
customer_xref turns that record into a golden customer, so the transactions of all of a
person's records roll up to one customer. A row that cannot be parsed or linked is returned as a
reject with its reason, for the quarantine: every input row lands somewhere.

A run reads its feeds long before it knows its customers (after dedupe), and a feed has about
three rows for every customer record: `hold_transactions` keeps a feed as roll_up's aggregates
per ref_key, every row's ref_key as a number and the rows' lineage and payload compressed, and
`roll_up_held` turns that into the same activity and quarantine rows that linking every row
(`link_transactions`, then roll_up) gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from mdm.schema import REJECT_COLUMNS, TRANSACTION_FIELDS, record_key, split_record_key
from mdm.segments.profile import (
    ActivityWindow,
    activity_of,
    combine_activity,
    empty_activity,
    partial_activity,
)


def _reason(field: str, rule: str, message: str) -> list[dict[str, str]]:
    return [{"field": field, "rule": rule, "message": message}]


def _rejects(rows: pd.DataFrame, reasons: list[list[dict[str, str]]]) -> pd.DataFrame:
    rejects = rows[list(REJECT_COLUMNS[:-1])].copy()
    rejects["reasons"] = reasons
    return rejects.reset_index(drop=True)


LOCAL_ZONE = "Asia/Shanghai"  # times without an offset are China local time, like the other feeds
_WITH_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def local_times(text: pd.Series) -> pd.Series:
    """Times as naive China local time; one with an offset (``Z``, ``+08:00``) is converted to
    it. A feed may mix both (a platform that added offsets one day): parsed apart, as pandas
    refuses one column of both. Missing or unparseable: NaT."""
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    except ValueError:  # "Mixed timezones detected"
        with_offset = text.str.contains(_WITH_OFFSET, regex=True).fillna(False).to_numpy(bool)
        aware = pd.to_datetime(text[with_offset], errors="coerce", format="mixed", utc=True)
        local = aware.dt.tz_convert(LOCAL_ZONE).dt.tz_localize(None)
        return pd.concat([local, _naive_times(text[~with_offset])]).reindex(text.index)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert(LOCAL_ZONE).dt.tz_localize(None)
    return parsed


def _naive_times(text: pd.Series) -> pd.Series:
    """The times without an offset the pattern knows; should some still name a zone (``UTC``,
    ``GMT+8``), each value is parsed alone, so that neither kind is lost."""
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if not isinstance(parsed.dtype, pd.DatetimeTZDtype):
            return parsed
    except ValueError:
        pass
    return pd.Series(
        [_local_time(value) for value in text], index=text.index, dtype="datetime64[us]"
    )


def _local_time(value: object) -> pd.Timestamp:
    time = pd.to_datetime(value, errors="coerce")
    if pd.isna(time) or time.tzinfo is None:
        return time
    return time.tz_convert(LOCAL_ZONE).tz_localize(None)


def parse_transactions(
    mapped: pd.DataFrame, *, ref_channel: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed transactions (txn_at, amount_cny, product_risk as 1-5, ref_key) and the rejects.

    Amounts may carry thousands separators; a product risk is `R3` or `3`.
    """
    fields = mapped.reindex(columns=list(TRANSACTION_FIELDS))
    text = pd.DataFrame({name: _strings(fields[name]).str.strip() for name in fields})
    amount = pd.to_numeric(text["amount_cny"].str.replace(",", "", regex=False), errors="coerce")
    txn_at = local_times(text["txn_at"])
    risk = _risk_levels(text["product_risk"])
    ref = text["customer_ref"].replace("", pd.NA)
    problems = [
        (ref.isna(), "customer_ref", "customer_ref_present", "no customer_ref"),
        (txn_at.isna(), "txn_at", "txn_at_parses", "txn_at is missing or not a date"),
        (amount.isna(), "amount_cny", "amount_parses", "amount_cny is missing or not a number"),
    ]
    bad = np.zeros(len(mapped), dtype=bool)
    for mask, *_ in problems:
        bad |= mask.to_numpy(dtype=bool)
    reasons = [
        [
            reason
            for mask, field, rule, message in problems
            if mask.iat[i]
            for reason in _reason(field, rule, message)
        ]
        for i in np.flatnonzero(bad)
    ]
    rejects = _rejects(mapped.loc[bad], reasons)
    good = ~bad
    parsed = mapped.loc[good, list(REJECT_COLUMNS[:-1])].reset_index(drop=True)
    parsed = parsed.assign(
        **{
            "ref_key": _ref_keys(ref_channel, ref[good]),
            "txn_at": txn_at[good].to_numpy(),
            "amount_cny": amount[good].to_numpy(dtype=float),
            "product_code": text["product_code"][good].to_numpy(dtype=object),
            "product_risk": risk[good].to_numpy(dtype=float),
            "txn_type": text["txn_type"][good].to_numpy(dtype=object),
        }
    )
    return parsed, rejects


def _strings(column: pd.Series) -> pd.Series:
    """column.astype("string"), with plain text (every value a str or None, as a CSV or JSON
    channel gives) handed to Arrow at once rather than a value at a time."""
    values = column.to_numpy()
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "string":
        try:  # from_pandas=False: only None is null; a NaN among the text is left to astype
            array = pa.array(values, pa.large_string(), from_pandas=False)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            return column.astype("string")
        return pd.Series(pd.array(array, dtype="string"), index=column.index)
    return column.astype("string")


def _risk_levels(risk: pd.Series) -> pd.Series:
    """A product risk `R3`, `r3` or `3` as 3.0, anything else NaN. The same values as the
    upper-cased text matched with `^R?([1-5])$` (only `r` upper-cases to `R`, only digits to
    digits), matched in Arrow instead of Python's re a value at a time."""
    level = risk.str.slice(start=-1).where(risk.str.fullmatch(r"[Rr]?[1-5]").fillna(False))
    return pd.to_numeric(level, errors="coerce")


def _ref_keys(ref_channel: str, refs: pd.Series) -> np.ndarray | list[str]:
    """The record_key each customer_ref names, the channel joined on in Arrow at once; an empty
    list for none, which pandas types as it always has (float64)."""
    if refs.empty:
        return []
    return (record_key(ref_channel, "") + refs).astype("str").to_numpy()


def link_transactions(
    parsed: pd.DataFrame, customer_of: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add customer_id through the xref mapping (record_key -> customer_id); a transaction whose
    record is unknown (never loaded, or quarantined) becomes a reject."""
    customer_id = parsed["ref_key"].map(customer_of)
    unknown = customer_id.isna().to_numpy(dtype=bool)
    reasons = [_unknown_reason(key) for key in parsed["ref_key"][unknown]]
    rejects = _rejects(parsed.loc[unknown], reasons)
    linked = parsed.loc[~unknown].assign(customer_id=customer_id[~unknown].to_numpy())
    return linked.reset_index(drop=True), rejects


LINEAGE_BATCH_ROWS = 65_536  # rows per compressed batch: what roll_up_held decompresses at once


@dataclass
class HeldTransactions:
    """A feed's parsed rows as roll_up's aggregates per ref_key (`partials`, one row per
    distinct ref_key, in the order of each one's first row), each row's ref_key as its
    position there (`row_refs`), and the rows' REJECT_COLUMNS but reasons (`lineage`, Arrow
    IPC compressed with zstd) for those whose ref_key turns out to name no customer."""

    ref_keys: pd.Series
    partials: pd.DataFrame
    row_refs: np.ndarray
    lineage: pa.Buffer
    window: ActivityWindow

    @property
    def rows(self) -> int:
        return len(self.row_refs)

    @property
    def nbytes(self) -> int:
        """What holding the feed takes, about: its aggregates, row numbers and lineage."""
        keys = int(self.ref_keys.memory_usage(deep=True))
        partials = int(self.partials.memory_usage(deep=True).sum())
        return keys + partials + self.row_refs.nbytes + self.lineage.size


def hold_transactions(parsed: pd.DataFrame, window: ActivityWindow) -> HeldTransactions:
    """parse_transactions' rows as they wait for the run's customers (see HeldTransactions)."""
    refs, ref_keys = pd.factorize(parsed["ref_key"])
    partials = partial_activity(parsed, refs, len(ref_keys), window)
    return HeldTransactions(
        ref_keys=pd.Series(ref_keys, dtype="str"),
        partials=partials,
        row_refs=refs.astype(np.int32),
        lineage=_compressed(parsed[list(REJECT_COLUMNS[:-1])]),
        window=window,
    )


def _compressed(lineage: pd.DataFrame) -> pa.Buffer:
    table = pa.Table.from_pandas(lineage, preserve_index=False)
    sink = pa.BufferOutputStream()
    # zstd's fastest level: payloads of JSON with the same keys on every row shrink about
    # ninefold at twice the speed of its default level, hardly larger
    options = pa.ipc.IpcWriteOptions(compression=pa.Codec("zstd", compression_level=1))
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table, max_chunksize=LINEAGE_BATCH_ROWS)
    return sink.getvalue()


def _lineage_rows(lineage: pa.Buffer, positions: np.ndarray) -> pd.DataFrame:
    """The held rows at `positions` (ascending), decompressed a batch at a time."""
    reader = pa.ipc.open_stream(lineage)
    taken, start = [], 0
    for batch in reader:
        end = start + batch.num_rows
        lo, hi = np.searchsorted(positions, [start, end])
        if hi > lo:
            taken.append(batch.take(pa.array(positions[lo:hi] - start)))
        start = end
    return pa.Table.from_batches(taken, schema=reader.schema).to_pandas()


def unknown_transactions(held: HeldTransactions, known: np.ndarray) -> pd.DataFrame:
    """The rejects of the held rows whose ref_key is not `known` (per ref_key), in their
    order, each with link_transactions' reason."""
    positions = np.flatnonzero(~known[held.row_refs])
    rows = _lineage_rows(held.lineage, positions)
    keys = held.ref_keys.to_numpy(dtype=object)[held.row_refs[positions]]
    return _rejects(rows, [_unknown_reason(key) for key in keys])


def _unknown_reason(key: str) -> list[dict[str, str]]:
    return _reason(
        "customer_ref",
        "customer_ref_known",
        f"customer_ref matches no loaded record of channel '{split_record_key(key)[0]}'",
    )


def roll_up_held(
    feeds: list[HeldTransactions], customer_of: pd.Series, window: ActivityWindow
) -> tuple[pd.DataFrame, list[pd.DataFrame], int]:
    """roll_up of every held row whose ref_key customer_of knows (record_key -> customer_id),
    the rejects of the others per feed, and how many rows were linked.

    The activity is roll_up's of the linked rows of all feeds in order, customers in the order
    of their first row: a feed's ref_keys are in the order of their first rows, so their
    customers, feed after feed, come in that order too.
    """
    owners, partials, rejects, linked = [], [], [], 0
    for held in feeds:
        if held.window != window:
            raise ValueError(f"transactions held for {held.window}, rolled up for {window}")
        customer_id = held.ref_keys.map(customer_of)
        known = customer_id.notna().to_numpy(dtype=bool)
        rejects.append(unknown_transactions(held, known))
        linked += int(held.partials["rows"].to_numpy()[known].sum())
        owners.append(customer_id[known].to_numpy())
        partials.append(held.partials[known])
    if not linked:
        return empty_activity(window.product_prefixes), rejects, 0
    owner, customers = pd.factorize(pd.Series(np.concatenate(owners)))
    combined = combine_activity(pd.concat(partials, ignore_index=True), owner, len(customers))
    activity = activity_of(combined, pd.Index(customers, name="customer_id"))
    return activity, rejects, linked
