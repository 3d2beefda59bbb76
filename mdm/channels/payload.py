"""Each row's raw payload (its values as one JSON object: the quarantine's copy of the row) and
raw hash (the sha256 of that JSON: how the next run tells which records changed).

The bytes are orjson's of the row as a dict, and must stay exactly those: a warehouse's stored
hashes decide which of its records changed. Building that JSON a row at a time was half of
ingest, so a text column is written at once in Arrow (`"` + value + `"`); only the values
orjson would escape, and columns of anything but text (a spreadsheet's numbers and dates, a
database's decimals), go through orjson, one value at a time. Within an object orjson writes
each value exactly as it writes it alone, so the pieces join to the same bytes.
"""

from __future__ import annotations

import hashlib
from itertools import pairwise

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# What orjson escapes in a string: the quote, the backslash and the control characters.
# Everything else it copies as UTF-8 (non-ASCII, U+2028 and U+2029 included).
_ESCAPED = r'["\\\x00-\x1f]'
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # what pandas makes of a list of str
_HEX_DIGEST_CHARS = 64


def row_payloads(frame: pd.DataFrame, columns: list[str]) -> pa.Array:
    """Per row, `orjson.dumps(dict(zip(columns, values)), default=str)` as a large_string."""
    if not columns or len(set(columns)) < len(columns):  # no literal to join; a dict's keys
        return _payloads_by_row(frame, columns)
    pieces: list[pa.Scalar | pa.Array] = []
    literal = "{"
    for position, column in enumerate(columns):
        literal += ("," if position else "") + orjson.dumps(column).decode() + ":"
        unquoted, values = _json_values(frame[column].to_numpy(dtype=object))
        pieces += [_text(literal + ('"' if unquoted else "")), values]
        literal = '"' if unquoted else ""
    pieces.append(_text(literal + "}"))
    return pc.binary_join_element_wise(*pieces, _text(""))


def _payloads_by_row(frame: pd.DataFrame, columns: list[str]) -> pa.Array:
    rows = frame[columns].to_numpy(dtype=object).tolist()
    return pa.array(
        [orjson.dumps(dict(zip(columns, row, strict=True)), default=str).decode() for row in rows],
        pa.large_string(),
    )


def _json_values(values: np.ndarray) -> tuple[bool, pa.Array]:
    """A column's values as JSON, and whether they still want their quotes: plain text
    without nulls, the usual column, is joined as it is, quotes and all in the literals."""
    text = _as_text(values)
    if text is None:
        return False, _by_value(values)
    escaped = pc.fill_null(pc.match_substring_regex(text, _ESCAPED), False)
    needs_escape = pc.any(escaped).as_py()
    if not needs_escape and text.null_count == 0:
        return True, text
    json = pc.binary_join_element_wise(_text('"'), text, _text('"'), _text(""))
    json = pc.fill_null(json, _text("null"))
    if needs_escape:
        where = escaped.to_numpy(zero_copy_only=False)
        json = pc.replace_with_mask(json, escaped, _by_value(values[where]))
    return False, json


def _as_text(values: np.ndarray) -> pa.Array | None:
    """The values as Arrow text when each is a str or None; None for anything else, which
    orjson writes its own way (a number, NaN or pd.NA as null or a string, bytes as their repr)."""
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    try:  # from_pandas=False: only None is null, so NaN, NaT and pd.NA are refused here
        return pa.array(values, pa.large_string(), from_pandas=False)
    except (pa.ArrowTypeError, pa.ArrowInvalid, UnicodeEncodeError):
        return None


def _by_value(values: np.ndarray) -> pa.Array:
    # decoded at once: each bytes object orjson returns keeps a buffer of several KB
    return pa.array(
        [orjson.dumps(value, default=str).decode() for value in values], pa.large_string()
    )


def payload_hashes(payloads: pa.Array) -> pa.Array:
    """The sha256 of each payload's UTF-8 bytes, in hex, as a large_string."""
    if len(payloads) == 0:
        return pa.array([], pa.large_string())
    _, offsets_buffer, data_buffer = payloads.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)
    offsets = offsets[payloads.offset : payloads.offset + len(payloads) + 1].tolist()
    data = memoryview(data_buffer)
    digests = b"".join(hashlib.sha256(data[start:end]).digest() for start, end in pairwise(offsets))
    # One hex string for all rows, cut every 64 characters: no Python string per row.
    width = np.arange(0, _HEX_DIGEST_CHARS * (len(payloads) + 1), _HEX_DIGEST_CHARS)
    return pa.Array.from_buffers(
        pa.large_string(),
        len(payloads),
        [None, pa.py_buffer(width.astype(np.int64)), pa.py_buffer(digests.hex().encode())],
    )


def text_series(values: pa.Array, index: pd.Index) -> pd.Series:
    """Arrow text as the Series pandas would make of the same values as a list of str and None
    (its default str dtype, or object when no value is text), without a Python string a row."""
    if values.null_count == len(values):
        return pd.Series(values.to_pylist(), index=index, dtype=object)
    return pd.Series(pd.arrays.ArrowStringArray(values, dtype=_TEXT), index=index)


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())
