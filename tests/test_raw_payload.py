"""raw_payload and raw_hash are byte for byte what a row at a time with orjson made (issue 13):
a warehouse's stored raw_hash decides whether a record changed on the next run, so a payload
built another way must never differ, for any reader and any value."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from itertools import cycle
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from flows.ingest import map_table
from mdm.channels.config import ChannelConfig, load_channels
from mdm.channels.payload import payload_hashes, row_payloads
from mdm.channels.readers import RawTable, read_source
from mdm.testbed.generate import generate

# Every character orjson escapes, and some it must not: quote, backslash, the C0 controls,
# DEL, C1, the line and paragraph separators, a BOM, full-width text, an emoji.
ODD_TEXT = [
    'say "hi"', "back\\slash", "a\nb", "a\r\nb", "tab\there", "".join(map(chr, range(32))),
    "\x7f\x85\u2028\u2029", "\ufeffbom", "陈丽", "ｆｕｌｌ", "😀", "", " ", "/", "null",
    *(f"one {chr(code)} alone" for code in range(32)),
]  # fmt: skip


def reference(frame: pd.DataFrame, columns: list[str]) -> tuple[list[str], list[str]]:
    """The payloads and hashes as flows/ingest.py made them before issue 13, one row at a time."""
    payloads, hashes = [], []
    for values in frame[columns].to_numpy(dtype=object).tolist():
        payload = orjson.dumps(dict(zip(columns, values, strict=True)), default=str)
        payloads.append(payload.decode())
        hashes.append(hashlib.sha256(payload).hexdigest())
    return payloads, hashes


def assert_same_as_reference(table: RawTable) -> None:
    payloads, hashes = reference(table.frame, table.columns)
    built = row_payloads(table.frame, table.columns)
    assert built.to_pylist() == payloads
    assert payload_hashes(built).to_pylist() == hashes


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bed")
    generate(out, customers=400, seed=7)
    return out


def test_every_generated_channel_as_before(generated: Path) -> None:
    config = load_channels(generated)
    channels = [*config.channels, *config.transactions]
    assert {c.format for c in channels} >= {"csv", "jsonl", "xlsx"}
    for channel in channels:
        for path in config.files(channel):
            assert_same_as_reference(read_source(channel, path))


def test_map_table_columns_as_before(generated: Path) -> None:
    config = load_channels(generated)
    [branch] = [c for c in config.channels if c.name == "branch"]  # a GB18030 file
    table = read_source(branch, config.files(branch)[0])
    mapped = map_table(table, branch, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    payloads, hashes = reference(table.frame, table.columns)
    assert mapped["raw_payload"].tolist() == payloads
    assert mapped["raw_hash"].tolist() == hashes
    assert mapped["raw_payload"].dtype == pd.Series(payloads).dtype  # pandas' str, as before
    assert mapped["raw_hash"].dtype == pd.Series(hashes).dtype


def _channel(**settings: Any) -> ChannelConfig:
    return ChannelConfig(
        **{"name": "odd", "path": "*", "record_id": "id", "columns": {"full_name": "name"}}
        | settings
    )


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_odd_csv_rows_as_before(tmp_path: Path, encoding: str) -> None:
    """Quotes, embedded newlines, blank fields, a short row (padded with None), a long row,
    an oversized field (cut), control characters; in UTF-8 and in GB18030."""
    text = (
        'id,name,"no""te","a\nb"\r\n'
        '1,"say ""hi""","multi\nline\r\nvalue",\\\r\n'
        "2,,,\n"
        "3,陈丽\n"
        "4,a,b,c,d,e\n"
        f"5,{'x' * 100_001},\t,\x01\n"
        '6,"",  ,é\n'
    )
    if encoding == "gb18030":
        text = text.replace("é", "丽")
    path = tmp_path / "odd.csv"
    path.write_bytes(text.encode(encoding))
    table = read_source(_channel(encoding=encoding), path)
    assert table.frame.isna().any(axis=None)  # the short row's padding
    assert_same_as_reference(table)


def test_odd_json_lines_as_before(tmp_path: Path) -> None:
    numbers, flags = cycle([0, -1, 1.5, 1e100, 2**70]), cycle([True, False, None])
    rows = [
        {"id": 1, "name": text, "n": number, "nested": {"a": [1, None, text]}, "flag": flag}
        for text, number, flag in zip(ODD_TEXT, numbers, flags)
    ]
    path = tmp_path / "odd.jsonl"
    lines = [json.dumps(row, ensure_ascii=False).encode() for row in rows] + [b"not json", b"[1]"]
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert_same_as_reference(read_source(_channel(format="jsonl"), path))


def test_odd_spreadsheet_cells_as_before(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "odd.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "name", "amount", "when", "flag"])
    sheet.append([1001, 'say "hi"', 1.25, dt.datetime(2024, 4, 2, 9, 30), True])
    sheet.append([1002.0, "a\nb", 12345678901234, dt.date(1999, 12, 31), None])
    sheet.append([None, None, -0.5, None, False])
    sheet.append(["x", "陈丽", None, "2024-01-01", "\\"])
    workbook.save(path)
    assert_same_as_reference(read_source(_channel(format="xlsx"), path))


def test_odd_parquet_values_as_before(tmp_path: Path) -> None:
    path = tmp_path / "odd.parquet"
    pd.DataFrame(
        {
            "id": ["1", "2", None, "4"],
            "name": ['say "hi"', None, "陈丽", "a\x00b"],
            "amount": [1.5, np.nan, 3.0, 1e-7],
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "when": pd.to_datetime(
                ["2024-01-01 00:00", None, "2024-01-03 10:00", "1900-01-01 00:00"]
            ),
        }
    ).to_parquet(path)
    assert_same_as_reference(read_source(_channel(format="parquet"), path))


def test_odd_database_values_as_before(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'src.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (id TEXT, name TEXT, n REAL, b BLOB, i INT)"))
        connection.execute(
            sa.text("INSERT INTO t VALUES (:id, :name, :n, :b, :i)"),
            [
                {"id": "1", "name": 'say "hi"\n', "n": 1.5, "b": b"\x00\xff", "i": 7},
                {"id": "2", "name": None, "n": None, "b": None, "i": None},
                {"id": "3", "name": "陈丽", "n": -0.0, "b": b"", "i": 2**62},
            ],
        )
    engine.dispose()
    channel = _channel(format="sql", url=url, query="SELECT * FROM t", path=None)
    assert_same_as_reference(read_source(channel, None))


def test_odd_python_values_as_before() -> None:
    """Whatever a reader may hand over: a text column with one value of another kind, nulls of
    every sort, bytes, Decimals, dates, numpy scalars; column names that need escaping."""
    values: list[Any] = [
        None, np.nan, pd.NA, pd.NaT, b"bytes", decimal.Decimal("1.10"), decimal.Decimal("NaN"),
        dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), np.str_("np"),
        np.int64(5), np.float64(0.1), True, 3, 2.5, float("inf"), {"a": 1}, [1, "x"],
    ]  # fmt: skip
    size = len(ODD_TEXT) + len(values)
    frame = pd.DataFrame(
        {
            "text": ODD_TEXT + ["plain"] * len(values),
            'quote "and" \\ \n': ODD_TEXT + [None] * len(values),
            "mixed": ODD_TEXT + values,
            "all none": [None] * size,
            "plain": ["v"] * size,
        },
        dtype=object,
    )
    columns = list(frame.columns)
    for subset in (columns, columns[:1], columns[-1:], ["all none"]):
        assert_same_as_reference(RawTable("odd", subset, frame))
    assert_same_as_reference(RawTable("odd", columns, frame.iloc[:0]))
    assert_same_as_reference(RawTable("odd", [], frame))
