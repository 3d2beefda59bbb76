"""Reading a channel's files (or SQL table) into raw tables: the only place source data is read.

Every value comes back as text exactly as delivered (spreadsheets keep their native cell values),
plus the row number a person would see and a per-row read problem when a row is structurally
broken. Broken rows are kept, not dropped, so they can be quarantined with their reason.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mdm.config import ChannelConfig
from mdm.errors import SourceError

READ_PROBLEM = "_read_problem"
ROW_NUMBER = "_source_row"
# Python's csv module refuses fields over 128 KiB; a 10 MB field must be read so it can be
# quarantined with a reason rather than abort the whole file.
csv.field_size_limit(256 * 1024 * 1024)
AUTO_ENCODINGS = ("utf-8-sig", "gb18030", "big5")


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
        for candidate in AUTO_ENCODINGS:
            try:
                return data.decode(candidate)
            except UnicodeDecodeError:
                continue
        encoding = AUTO_ENCODINGS[0]
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            f"{name}: line {line}: byte 0x{data[exc.start]:02x} is not valid {encoding}"
            " (is the channel's 'encoding' right?)"
        ) from exc
    return text.removeprefix("\ufeff")


def _read_csv(path: Path, channel: ChannelConfig) -> RawTable:
    text = decode(path.read_bytes(), channel.encoding, path.name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=channel.delimiter)
    header = next(reader, None)
    if header is None:
        raise SourceError(f"{path.name}: file is empty (no header row)")
    header = [column.strip() for column in header]
    width = len(header)
    rows: list[list[str | None]] = []
    problems: list[str | None] = []
    row_numbers: list[int] = []
    for number, row in enumerate(reader, start=2):  # the header is row 1, as a spreadsheet shows
        if not row:
            continue
        if len(row) == width:
            rows.append(list(row))
            problems.append(None)
        else:
            problem = f"row has {len(row)} fields, header has {width}"
            rows.append([*row[:width], *([None] * (width - len(row)))])
            problems.append(problem)
        row_numbers.append(number)
    return _table(path.name, header, rows, row_numbers, problems)


def _read_jsonl(path: Path, channel: ChannelConfig) -> RawTable:
    text = decode(path.read_bytes(), channel.encoding, path.name)
    records: list[dict[str, Any]] = []
    problems: list[str | None] = []
    row_numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
            if not isinstance(value, dict):
                raise ValueError("not a JSON object")
            records.append({key: _jsonl_text(item) for key, item in value.items()})
            problems.append(None)
        except ValueError as exc:
            records.append({})
            problems.append(f"not valid JSON: {_one_line(exc)}")
        row_numbers.append(number)
    if not records:
        raise SourceError(f"{path.name}: file is empty (no records)")
    header = list(dict.fromkeys(key for record in records for key in record))
    rows = [[record.get(key) for key in header] for record in records]
    return _table(path.name, header, rows, row_numbers, problems)


def _jsonl_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _read_xlsx(path: Path, channel: ChannelConfig) -> RawTable:
    import openpyxl  # imported here: only spreadsheet channels pay its import time

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if channel.sheet is None:
            sheet = workbook.worksheets[0]
        elif isinstance(channel.sheet, int):
            sheet = workbook.worksheets[channel.sheet]
        else:
            if channel.sheet not in workbook.sheetnames:
                raise SourceError(
                    f"{path.name}: channel '{channel.name}': no sheet '{channel.sheet}'"
                    f" (sheets: {', '.join(workbook.sheetnames)})"
                )
            sheet = workbook[channel.sheet]
        rows_iter = sheet.iter_rows(values_only=True)
        header_row = next(rows_iter, None)
        if header_row is None:
            raise SourceError(f"{path.name}: sheet is empty (no header row)")
        header = ["" if cell is None else str(cell).strip() for cell in header_row]
        rows: list[list[Any]] = []
        row_numbers: list[int] = []
        for number, row in enumerate(rows_iter, start=2):
            if all(cell is None or cell == "" for cell in row):
                continue
            rows.append(list(row[: len(header)]) + [None] * (len(header) - len(row)))
            row_numbers.append(number)
    finally:
        workbook.close()
    return _table(path.name, header, rows, row_numbers, [None] * len(rows))


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


def _table(
    source: str,
    header: list[str],
    rows: list[list[Any]],
    row_numbers: list[int],
    problems: list[str | None],
) -> RawTable:
    duplicated = sorted({column for column in header if header.count(column) > 1})
    if duplicated:
        raise SourceError(f"{source}: header repeats column '{duplicated[0]}'")
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame[ROW_NUMBER] = row_numbers
    frame[READ_PROBLEM] = pd.Series(problems, dtype=object)
    return RawTable(source=source, columns=header, frame=frame)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
