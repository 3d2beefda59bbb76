"""The transactions feed (SPEC §2): parse its mapped rows and link each to a golden customer.

A transaction names a source record of another channel (`customer_ref` within `ref_channel`);
customer_xref turns that record into a golden customer, so the transactions of all of a
person's records roll up to one customer. A row that cannot be parsed or linked is returned as a
reject with its reason, for the quarantine: every input row lands somewhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from mdm.schema import REJECT_COLUMNS, TRANSACTION_FIELDS, record_key, split_record_key


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
    reasons = [
        _reason(
            "customer_ref",
            "customer_ref_known",
            f"customer_ref matches no loaded record of channel '{split_record_key(key)[0]}'",
        )
        for key in parsed["ref_key"][unknown]
    ]
    rejects = _rejects(parsed.loc[unknown], reasons)
    linked = parsed.loc[~unknown].assign(customer_id=customer_id[~unknown].to_numpy())
    return linked.reset_index(drop=True), rejects
