"""Reading a channel's files (or SQL table) into raw tables: the only place source data is read.

Every value comes back as text exactly as delivered (spreadsheets keep their native cell values),
plus the row number a person would see and a per-row read problem when a row is structurally
broken. Broken rows are kept, not dropped, so they can be quarantined with their reason.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from mdm.channels.config import ChannelConfig
from mdm.errors import SourceError

READ_PROBLEM = "_read_problem"
ROW_NUMBER = "_source_row"
# Python's csv module refuses fields over 128 KiB; a 10 MB field must be read so it can be
# quarantined with a reason rather than abort the whole file.
csv.field_size_limit(256 * 1024 * 1024)
DETECT_SAMPLE_BYTES = 256 * 1024  # enough Chinese text to tell GB18030 from Big5
BIG5_LEVEL_1 = (0xA440, 0xC67E)  # Big5's 5,401 frequently used characters
SNIFF_CHARS = 64 * 1024
HEADER_SAMPLE_CHARS = 64 * 1024  # title lines and a header, read before the rows
# Longer than any real name, address or note; a longer value is a broken export or an attack.
MAX_FIELD_CHARS = 100_000
FIELD_PREVIEW_CHARS = 200
SNIFF_DELIMITERS = ",;\t|"


@dataclass
class RawTable:
    """One file's rows: text columns, plus ROW_NUMBER and READ_PROBLEM."""

    source: str  # file name (or masked SQL URL) for messages
    columns: list[str]
    frame: pd.DataFrame


def read_source(channel: ChannelConfig, path: Path | None) -> RawTable:
    """Read one file of a channel, or the channel's SQL query when path is None."""
    if channel.format == "sql":
        return _read_sql(channel)
    assert path is not None
    try:
        if channel.format == "csv":
            return _read_csv(path, channel)
        if channel.format == "jsonl":
            return _read_jsonl(path, channel)
        if channel.format == "xlsx":
            return _read_xlsx(path, channel)
        return _read_parquet(path)
    except SourceError:
        raise
    except Exception as exc:  # a broken file of any kind is the user's input, named plainly
        raise SourceError(
            f"{path.name}: cannot read as {channel.format}: {_one_line(exc)}"
        ) from exc


def decode(data: bytes, encoding: str, name: str) -> str:
    """Decode strictly: a file not in its declared encoding is an error, never mojibake."""
    if encoding == "auto":
        encoding = detect_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            f"{name}: line {line}: byte 0x{data[exc.start]:02x} is not valid {encoding}"
            " (is the channel's 'encoding' right?)"
        ) from exc
    return text.removeprefix("\ufeff")


def detect_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM), else whichever of GB18030 and Big5 reads as plainer Chinese.

    Most Big5 byte pairs are also valid GBK and most GBK pairs valid Big5, so a strict decode
    alone cannot choose: the wrong one yields rare characters, kana, symbols or private-use
    code points. A sample is decoded both ways and the one with fewer such characters wins;
    ties go to GB18030, the mainland default. If no candidate decodes, the first is reported.
    """
    sample = data[:DETECT_SAMPLE_BYTES]
    cut = sample.rfind(b"\n")  # whole lines, so no multi-byte character is cut in half
    if len(data) > DETECT_SAMPLE_BYTES and cut > 0:
        sample = sample[: cut + 1]
    try:
        sample.decode("utf-8-sig")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    scores: dict[str, int] = {}
    for candidate in ("gb18030", "big5"):
        try:
            text = sample.decode(candidate)
        except UnicodeDecodeError:
            continue
        scores[candidate] = sum(not _plain_chinese(char) for char in text if ord(char) > 0x7F)
    if not scores:
        return "utf-8-sig"
    return min(scores, key=lambda candidate: scores[candidate])  # dicts keep gb18030 first


@functools.cache
def _plain_chinese(char: str) -> bool:
    """A character everyday Chinese text uses: GB2312 (common simplified) or Big5 level 1
    (common traditional), plus CJK and full-width punctuation."""
    if "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef":
        return True
    if not "\u4e00" <= char <= "\u9fff":
        return False
    try:
        char.encode("gb2312")
        return True
    except UnicodeEncodeError:
        pass
    try:
        return BIG5_LEVEL_1[0] <= int.from_bytes(char.encode("big5")) <= BIG5_LEVEL_1[1]
    except UnicodeEncodeError:
        return False


def _read_csv(path: Path, channel: ChannelConfig) -> RawTable:
    text = decode(path.read_bytes(), channel.encoding, path.name)
    delimiter = _sniff_delimiter(text) if channel.delimiter == "auto" else channel.delimiter
    header, header_lines, offset = _csv_header(text, channel.header_row, delimiter)
    if header is None:
        raise SourceError(f"{path.name}: file is empty (no header row)")
    header = [column.strip() for column in header]
    width = len(header)
    plain = _plain_csv_columns(text, offset, delimiter, width)
    if plain is not None:  # as the loop below would read it, with the same row numbers
        first = header_lines + channel.header_row
        frame = _columns_frame(path.name, header, plain)
        numbers = list(range(first, first + len(frame)))
        return _frame_table(path.name, header, frame, numbers, [None] * len(frame), long_rows=[])
    lines = io.StringIO(text, newline="")
    lines.seek(offset)
    reader = csv.reader(lines, delimiter=delimiter)
    line = header_lines
    rows: list[list[Any]] = []
    problems: list[str | None] = []
    row_numbers: list[int] = []
    last_offset = offset
    long_rows: list[int] = []
    for row in reader:
        end = lines.tell()
        if end - offset > MAX_FIELD_CHARS:
            long_rows.append(len(rows))
        if row:
            if len(row) == width:
                rows.append(row)
                problems.append(None)
            else:
                rows.append([*row[:width], *([None] * (width - len(row)))])
                problems.append(f"row has {len(row)} fields, header has {width}")
            # As a spreadsheet numbers rows: the line the row starts on, title lines included.
            row_numbers.append(line + channel.header_row)
            last_offset = offset
        line, offset = header_lines + reader.line_num, end
    _check_not_truncated(path.name, text[last_offset:], delimiter, problems)
    return _table(path.name, header, rows, row_numbers, problems, long_rows=long_rows)


def _csv_header(text: str, header_row: int, delimiter: str) -> tuple[list[str] | None, int, int]:
    """The header row, the lines it takes, and the offset in `text` where the rows start.

    Read from the file's start only, longer if the header is not done within it: a StringIO of
    the whole text (four bytes a character) took 0.5 s of a 140 MB file the fast path reads
    without one."""
    size = HEADER_SAMPLE_CHARS
    while True:
        head = text[:size]
        lines = io.StringIO(head, newline="")
        for _ in range(header_row - 1):  # title lines above the header
            lines.readline()
        reader = csv.reader(lines, delimiter=delimiter)
        header = next(reader, None)
        # Stopped before the sample's end: after a line break the whole text has there too.
        if lines.tell() < len(head) or len(head) == len(text):
            return header, reader.line_num, lines.tell()
        size *= 16


def _plain_csv_columns(
    text: str, offset: int, delimiter: str, width: int
) -> list[np.ndarray] | None:
    """The columns of the rows from `offset` on, read by Arrow's CSV reader (several times
    faster than the csv module), when every line is one plain row of `width` fields: then both
    read it alike. None when anything is unusual (a blank line, a line break inside a field, a
    quote inside a bare field, a ragged row, an over-long field), for the csv module's loop."""
    if offset >= len(text) or not delimiter.isascii() or delimiter in _QUOTE_AND_BREAKS:
        return None
    if not width:  # a blank header line: rows with fields are all ragged
        return None
    if text.startswith("\ufeff", offset):  # Arrow would drop it as a byte order mark
        return None
    start = len(text[:offset].encode("utf-8"))
    data = pa.py_buffer(text.encode("utf-8")).slice(start)
    plain = pc.match_substring_regex(_one_string(data), _plain_rows_pattern(delimiter))
    if not plain[0].as_py():
        return None
    names = [str(position) for position in range(width)]
    try:
        table = pa_csv.read_csv(
            data,
            read_options=pa_csv.ReadOptions(column_names=names),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, double_quote=True, escape_char=False, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:  # a row of another width
        return None
    lines = text.count("\n", offset) + (not text.endswith("\n"))
    longest = max(pc.max(pc.utf8_length(column)).as_py() or 0 for column in table.columns)
    if table.num_rows != lines or longest > MAX_FIELD_CHARS:
        return None
    return [column.to_numpy() for column in table.columns]


_QUOTE_AND_BREAKS = '"\r\n'


def _plain_rows_pattern(delimiter: str) -> str:
    """Lines that are each one row of fields each bare (no quote, delimiter, line break or NUL)
    or wholly quoted with inner quotes doubled, ending in \\n or \\r\\n; in RE2's syntax."""
    separator = rf"\x{ord(delimiter):02x}"
    bare = rf'[^"{separator}\r\n\x00]*'
    quoted = r'"(?:[^"\r\n\x00]|"")*"'
    field = f"(?:{bare}|{quoted})"
    # One bare field must not be empty: that is a blank line, which the csv module skips.
    row = rf"(?:{field}(?:{separator}{field})+|{bare[:-1]}+|{quoted})\r?"
    return rf"\A(?:{row}\n)*(?:{row})?\z"


def _one_string(data: pa.Buffer) -> pa.Array:
    """A large_string array of one value, the whole of `data`, without copying it."""
    offsets = pa.py_buffer(np.array([0, data.size], dtype=np.int64))
    return pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, data])


def _columns_frame(source: str, header: list[str], columns: list[np.ndarray]) -> pd.DataFrame:
    _check_header(source, header)  # before the dict, which would keep one of a repeated name
    return pd.DataFrame(dict(zip(header, columns, strict=True)), dtype=object)


def _sniff_delimiter(text: str) -> str:
    sample = text[:SNIFF_CHARS].rsplit("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(sample, delimiters=SNIFF_DELIMITERS).delimiter
    except csv.Error:  # one column, or nothing to go on
        return ","


def _check_not_truncated(
    name: str, last_row: str, delimiter: str, problems: list[str | None]
) -> None:
    """A file cut off in transfer has lost rows nobody can count, so it stops the run.

    Two signs: the last row ends inside an open quoted field (a lenient reader would swallow
    the rest of the file into one value), or it lacks its line break and is short of fields.
    """
    try:
        list(csv.reader(io.StringIO(last_row, newline=""), delimiter=delimiter, strict=True))
        open_quote = False
    except csv.Error as exc:
        open_quote = "unexpected end of data" in str(exc)
    cut_short = bool(problems) and problems[-1] is not None and not last_row.endswith(("\n", "\r"))
    if open_quote or cut_short:
        raise SourceError(
            f"{name}: the file ends in the middle of a row (truncated?); its last row is"
            " incomplete, so none of it is loaded"
        )


def _read_jsonl(path: Path, channel: ChannelConfig) -> RawTable:
    text = decode(path.read_bytes(), channel.encoding, path.name)
    records: list[dict[str, Any]] = []
    problems: list[str | None] = []
    row_numbers: list[int] = []
    long_rows: list[int] = []
    # JSON Lines ends a record at \n only: str.splitlines() would also cut at U+0085, U+2028,
    # U+2029 and other breaks that JSON carries unescaped inside a string value.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        if len(line) > MAX_FIELD_CHARS:
            long_rows.append(len(records))
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            value = exc
        if isinstance(value, dict):
            records.append(value)
            problems.append(None)
        else:
            records.append({})
            why = _one_line(value) if isinstance(value, Exception) else "not a JSON object"
            problems.append(f"not valid JSON: {why}")
        row_numbers.append(number)
    if not records:
        raise SourceError(f"{path.name}: file is empty (no records)")
    header = list(dict.fromkeys(itertools.chain.from_iterable(records)))  # first seen, first
    # Text and null inline: a call a value was most of reading a file of short fields.
    rows = [
        [
            value if value is None or type(value) is str else _jsonl_text(value)
            for value in map(record.get, header)
        ]
        for record in records
    ]
    return _table(path.name, header, rows, row_numbers, problems, long_rows=long_rows)


def _jsonl_text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def _read_xlsx(path: Path, channel: ChannelConfig) -> RawTable:
    # calamine (Rust) reads a sheet ~15x faster than openpyxl, whose per-cell Python objects
    # made spreadsheets the slowest channel; imported here so other channels skip its import.
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    names = workbook.sheet_names
    if channel.sheet is None:
        name = names[0]
    elif isinstance(channel.sheet, int):
        if not 0 <= channel.sheet < len(names):
            raise SourceError(f"{path.name}: channel '{channel.name}': no sheet {channel.sheet}")
        name = names[channel.sheet]
    elif channel.sheet in names:
        name = channel.sheet
    else:
        raise SourceError(
            f"{path.name}: channel '{channel.name}': no sheet '{channel.sheet}'"
            f" (sheets: {', '.join(names)})"
        )
    # Without skipping the empty top rows, list positions are the sheet's row numbers - 1.
    cells = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    if len(cells) < channel.header_row:
        raise SourceError(f"{path.name}: sheet is empty (no header row)")
    header = [str(cell).strip() for cell in cells[channel.header_row - 1]]
    width = len(header)
    rows: list[list[Any]] = []
    row_numbers: list[int] = []
    for number, row in enumerate(cells[channel.header_row :], start=channel.header_row + 1):
        # Non-empty text inline: a call a cell was a third of reading a sheet.
        values = [cell if cell and type(cell) is str else _cell(cell) for cell in row[:width]]
        if all(value is None for value in values):
            continue
        rows.append(values + [None] * (width - len(values)))
        row_numbers.append(number)
    # Excel holds at most 32,767 characters in a cell, so no row is too long to keep.
    return _table(path.name, header, rows, row_numbers, [None] * len(rows), long_rows=[])


def _cell(value: Any) -> Any:
    """A cell as openpyxl gave it: empty as None, whole numbers as int (an account 1001)."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _read_parquet(path: Path) -> RawTable:
    frame = pd.read_parquet(path).astype(object)
    frame = frame.where(frame.notna(), None)
    header = [str(column) for column in frame.columns]
    rows = frame.to_numpy().tolist()
    return _table(path.name, header, rows, list(range(1, len(rows) + 1)), [None] * len(rows))


def _read_sql(channel: ChannelConfig) -> RawTable:
    import sqlalchemy as sa

    assert channel.url is not None and channel.query is not None
    url = sa.engine.make_url(channel.url)
    shown = url.render_as_string(hide_password=True)
    try:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            _read_only(connection, shown)
            if channel.query.lstrip().lower().startswith("select"):
                statement: Any = sa.text(channel.query)
            else:  # a table name: reflected, so it is never pasted into SQL text
                statement = sa.select(
                    sa.Table(channel.query, sa.MetaData(), autoload_with=connection)
                )
            result = connection.execute(statement)
            header = list(result.keys())
            rows = [list(row) for row in result]
        engine.dispose()
    except sa.exc.SQLAlchemyError as exc:
        raise SourceError(f"{shown}: channel '{channel.name}': {_one_line(exc)}") from exc
    return _table(shown, header, rows, list(range(1, len(rows) + 1)), [None] * len(rows))


def _read_only(connection: Any, shown: str) -> None:
    """Make the connection unable to write before the channel's query runs: the query is
    the user's text, and a source database is never ours to change."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")
    elif dialect == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")  # first in the transaction
    elif dialect in ("mysql", "mariadb"):
        connection.exec_driver_sql("SET SESSION TRANSACTION READ ONLY")
    else:
        raise SourceError(
            f"{shown}: cannot open a read-only connection to a {dialect} database"
            " (SQL channels read PostgreSQL, MySQL or SQLite)"
        )


def empty_table(columns: list[str]) -> RawTable:
    """A table with the given columns and no rows (a channel with nothing new to read)."""
    return _table("", columns, [], [], [])


def _table(
    source: str,
    header: list[str],
    rows: list[list[Any]],
    row_numbers: list[int],
    problems: list[str | None],
    *,
    long_rows: list[int] | None = None,
) -> RawTable:
    """The rows as a frame; long_rows: the only positions that may hold an oversized value
    (None: any may)."""
    _check_header(source, header)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return _frame_table(source, header, frame, row_numbers, problems, long_rows=long_rows)


def _check_header(source: str, header: list[str]) -> None:
    duplicated = sorted(column for column, count in Counter(header).items() if count > 1)
    if duplicated:
        raise SourceError(f"{source}: header repeats column '{duplicated[0]}'")


def _frame_table(
    source: str,
    header: list[str],
    frame: pd.DataFrame,
    row_numbers: list[int],
    problems: list[str | None],
    *,
    long_rows: list[int] | None,
) -> RawTable:
    frame[ROW_NUMBER] = row_numbers
    frame[READ_PROBLEM] = pd.Series(problems, dtype=object)
    _cut_oversized_fields(frame if long_rows is None else frame.iloc[long_rows], header, frame)
    return RawTable(source=source, columns=header, frame=frame)


def _cut_oversized_fields(suspects: pd.DataFrame, header: list[str], frame: pd.DataFrame) -> None:
    """A value longer than any real field (a runaway quote, an attack) makes its row a broken
    row, and only its start is kept, so the quarantine never stores megabytes of it.

    Only the suspect rows (those longer than the limit as a whole) are measured, in `frame`,
    all cells at once: a per-column pass made a 200,000-column header take minutes."""
    if suspects.empty:
        return
    lengths = _text_length(suspects[header].to_numpy(dtype=object)).astype(np.int64)
    for row, position in zip(*np.nonzero(lengths > MAX_FIELD_CHARS), strict=True):
        label, column, size = suspects.index[row], header[position], int(lengths[row, position])
        frame.at[label, column] = (
            f"{frame.at[label, column][:FIELD_PREVIEW_CHARS]}… [cut: {size:,} characters]"
        )
        problem = f"field '{column}' is {size:,} characters long (limit {MAX_FIELD_CHARS:,})"
        earlier = frame.at[label, READ_PROBLEM]
        frame.at[label, READ_PROBLEM] = f"{earlier}; {problem}" if earlier else problem


# The length of a text cell, 0 for anything else (numbers and dates of a spreadsheet, None).
_text_length = np.frompyfunc(lambda value: len(value) if isinstance(value, str) else 0, 1, 1)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
