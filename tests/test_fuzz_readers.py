"""Property tests (hypothesis) over the file readers (issue 12's fuzz layer over ingest): any
bytes in a CSV or JSON-lines delivery either read, with every data row accounted for as a record
or a reject, or stop with one SourceError line that names the file; never another exception."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from unittest import mock

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.ingest import ingest_channel, standardize_channel
from mdm.channels import readers
from mdm.channels.config import ChannelConfig, load_channels
from mdm.channels.readers import read_source
from mdm.errors import SourceError

COLUMNS = {"full_name": "name", "mobile": "phone", "birth_date": "born", "email": "mail"}
CHANNELS_YAML = """channels:
  leads:
    path: {path}
    format: {format}
    record_id: id
    trust: 20
    columns: {{full_name: name, mobile: phone, birth_date: born, email: mail}}
"""

CELL = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Po", "Lo"]), max_size=12),
    st.sampled_from(['"', '""', ",", "\n", "\r\n", "\x00", "\ufeff", "=cmd|' /C calc'!A0",
                     "'; DROP TABLE customer; --", "\u202ename\u202c", "x" * 5000]),
)  # fmt: skip
ROW = st.fixed_dictionaries({"id": CELL, **{column: CELL for column in COLUMNS.values()}})


def _ingest(folder: Path, name: str, data: bytes, fmt: str) -> tuple[int, int, int] | str:
    (folder / name).write_bytes(data)
    (folder / "channels.yaml").write_text(CHANNELS_YAML.format(path=name, format=fmt))
    config = load_channels(folder)
    [channel] = config.channels
    try:
        batch = ingest_channel.fn(config, channel)
        batch = standardize_channel.fn(batch, channel)
    except SourceError as exc:
        return str(exc)
    return batch.rows_read, len(batch.records), len(batch.rejects)


def _accounted(result: tuple[int, int, int] | str, name: str) -> None:
    if isinstance(result, str):  # refused: one line that names the file
        assert name in result and "\n" not in result
        return
    read, records, rejects = result
    assert records + rejects == read


def _csv(rows: list[dict[str, str | None]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", *COLUMNS.values()])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", errors="surrogatepass")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, max_size=6))
def test_a_csv_of_hostile_cells_reads_every_row_into_records_or_rejects(
    rows: list[dict[str, str | None]],
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        try:
            data = _csv(rows)
        except UnicodeEncodeError:
            return  # a lone surrogate is no text a file can hold
        result = _ingest(Path(scratch), "leads.csv", data, "csv")
    _accounted(result, "leads.csv")
    if not isinstance(result, str):
        assert result[0] == len(rows)  # quoting kept every row, newlines inside cells included


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.sampled_from(["csv", "jsonl"]))
def test_arbitrary_bytes_read_or_stop_with_one_line_naming_the_file(data: bytes, fmt: str) -> None:
    name = f"leads.{fmt}"
    with tempfile.TemporaryDirectory() as scratch:
        header = b"id,name,phone,born,mail\n" if fmt == "csv" else b""
        result = _ingest(Path(scratch), name, header + data, fmt)
    _accounted(result, name)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(ROW, st.dictionaries(st.text(max_size=5), CELL, max_size=3)), max_size=6))
def test_json_lines_of_any_shape_read_every_line_into_records_or_rejects(
    rows: list[dict[str, str | None]],
) -> None:
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            encoded = data.encode("utf-8")
        except UnicodeEncodeError:
            return
        result = _ingest(Path(scratch), "leads.jsonl", encoded, "jsonl")
    _accounted(result, "leads.jsonl")
    if not isinstance(result, str):
        assert result[0] == len(rows)


def test_a_json_string_holding_a_unicode_line_break_stays_one_record(tmp_path: Path) -> None:
    # Found by the property above: str.splitlines() cut these lines in two.
    rows = [
        {"id": str(i), "name": f"Ann{brk}Lee", "phone": None, "born": None, "mail": None}
        for i, brk in enumerate("\x85\u2028\u2029\x0b")
    ]
    data = "".join(json.dumps(row, ensure_ascii=False) + "\r\n" for row in rows).encode()
    assert _ingest(tmp_path, "leads.jsonl", data, "jsonl") == (4, 4, 0)


def test_a_missing_column_message_stays_one_line_when_a_header_holds_a_line_break(
    tmp_path: Path,
) -> None:
    # Found by the property above: the file's own column names were quoted raw.
    result = _ingest(tmp_path, "leads.jsonl", b'{"\\n": null, "x\\u2028y": 1}\n', "jsonl")
    assert isinstance(result, str) and "\n" not in result and "\u2028" not in result
    assert "leads.jsonl" in result and "(columns: \\x0a, x\\u2028y)" in result


# Text made of what CSV parsers disagree on: quotes, delimiters, every line break, blank lines,
# a BOM, NUL, spaces around quotes, non-ASCII.
CSV_PIECE = st.sampled_from(
    ["a", "陈丽", " ", ",", ";", '"', '""', "\n", "\r", "\r\n", "\n\n", "\ufeff", "\x00", "\t"]
    + ["1,2,3\n", '1,"2",3\r\n', "1;2;3\n", "1\t2\t3\n"]
)


def _read_both_ways(path: Path, **settings: object) -> tuple[object, object]:
    """What read_source makes of a CSV with Arrow's fast path allowed, and with the csv module
    only: each a frame, or the one-line SourceError."""
    channel = ChannelConfig(
        **{"name": "leads", "path": "*", "record_id": "id", "columns": {}} | settings
    )

    def read() -> object:
        try:
            return read_source(channel, path).frame
        except SourceError as exc:
            return str(exc)

    fast = read()
    with mock.patch.object(readers, "_plain_csv_columns", lambda *_: None):
        return fast, read()


def _assert_same(fast: object, loop: object) -> None:
    if isinstance(fast, pd.DataFrame) and isinstance(loop, pd.DataFrame):
        pd.testing.assert_frame_equal(fast, loop, check_exact=True)
    else:
        assert fast == loop


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(CSV_PIECE, max_size=40).map("".join),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from([1, 2]),
)
def test_the_arrow_fast_path_reads_any_csv_as_the_csv_module_does(
    body: str, delimiter: str, header_row: int
) -> None:
    """Row for row, value for value, row numbers and problems, or the same refusal."""
    header = "title\n" * (header_row - 1) + delimiter.join(["id", "name", "x"]) + "\n"
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "leads.csv"
        path.write_bytes((header + body).encode("utf-8"))
        fast, loop = _read_both_ways(path, delimiter=delimiter, header_row=header_row)
    _assert_same(fast, loop)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ROW, min_size=1, max_size=6), st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_the_arrow_fast_path_reads_written_csv_as_the_csv_module_does(
    rows: list[dict[str, str | None]], quoting: int
) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", *COLUMNS.values()], quoting=quoting)
    writer.writeheader()
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "leads.csv"
        try:
            path.write_bytes(out.getvalue().encode("utf-8"))
        except UnicodeEncodeError:
            return  # a lone surrogate is no text a file can hold
        fast, loop = _read_both_ways(path)
    _assert_same(fast, loop)


def test_a_plain_file_takes_the_arrow_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text('id,name\r\n1,"陈,丽"\r\n2,""""\r\n3, x \r\n', encoding="utf-8")
    columns = readers._plain_csv_columns(path.read_bytes().decode(), len("id,name\r\n"), ",", 2)
    assert columns is not None and [list(c) for c in columns] == [
        ["1", "2", "3"], ["陈,丽", '"', " x "]
    ]  # fmt: skip
    fast, loop = _read_both_ways(path)
    _assert_same(fast, loop)


def test_anything_unusual_leaves_the_fast_path_for_the_csv_module() -> None:
    unusual = [
        "1,a\n\n2,b\n",  # a blank line: the csv module skips it, its number counted
        '1,"a\nb"\n',  # a line break inside a quoted field
        '1,a"b\n',  # a quote inside a bare field
        '1,"a"b\n',  # text after a closing quote
        '1, "a"\n',  # a space before an opening quote
        "1,a,x\n",  # a ragged row
        "1,a\r2,b\r",  # lines ended by \\r alone
        "1,a\x00\n",  # NUL
        "\ufeff1,a\n",  # a byte order mark Arrow would drop
        f"1,{'x' * 100_001}\n",  # a field over the limit, cut by the loop
    ]
    for body in unusual:
        assert readers._plain_csv_columns(f"id,x\n{body}", 5, ",", 2) is None, body[:20]
    assert readers._plain_csv_columns("id,x\n1,a\r\n2,\r\n", 5, ",", 2) is not None


def test_a_blank_header_line_reads_its_rows_as_ragged_as_before(tmp_path: Path) -> None:
    # Found by comparing with the reader before issue 13: no header fields gave Arrow no columns.
    path = tmp_path / "leads.csv"
    path.write_bytes(b"\n1,2,3\n")
    fast, loop = _read_both_ways(path)
    _assert_same(fast, loop)
    assert isinstance(fast, pd.DataFrame)
    assert fast[readers.READ_PROBLEM].tolist() == ["row has 3 fields, header has 0"]


def test_a_header_longer_than_the_first_sample_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    name = "n" * (readers.HEADER_SAMPLE_CHARS + 10)
    path.write_text(f'title\r\n"id\r\n",{name}\r\n1,a\r\n', encoding="utf-8")
    fast, loop = _read_both_ways(path, header_row=2)
    _assert_same(fast, loop)
    assert isinstance(fast, pd.DataFrame)
    assert list(fast.columns[:2]) == ["id", name] and fast["_source_row"].tolist() == [4]
