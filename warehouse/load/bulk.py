"""Bulk inserts at the speed of the database, inside the session's transaction.

Rows are given column by column and go straight to the driver: SQLite gets one `executemany`
of tuples, PostgreSQL one `COPY ... FROM STDIN`. Each value is converted once, by its column's
own SQLAlchemy type, so the rows read back exactly as an ORM insert would have stored them;
what SQLAlchemy's ORM and Core executemany add per row (a dict, a parameter set, a None left
out that splits the batch) was most of the load's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from warehouse.models import Base
from warehouse.values import db_ready

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
BATCH = 20_000  # rows per executemany or COPY


def column_values(values: pd.Series | pd.Index | Sequence[Any]) -> list[Any]:
    """A column as a driver takes it (`db_ready` of every value): NaN and NaT as None, numpy
    scalars as Python's, timestamps as aware datetimes; done a dtype at a time."""
    if not isinstance(values, pd.Series | pd.Index):
        return [db_ready(value) for value in values]
    kind = values.dtype.kind
    numpy_dtype = isinstance(values.dtype, np.dtype)
    if numpy_dtype and kind == "f":
        floats = values.to_numpy(dtype=float)
        boxed = floats.astype(object)
        boxed[np.isnan(floats)] = None
        return list(boxed)
    if numpy_dtype and kind in "iub":
        return values.tolist()
    return [
        value if value is None or type(value) is str else db_ready(value)
        for value in boxed_values(values)
    ]


def boxed_values(values: pd.Series | pd.Index) -> np.ndarray:
    """A column's values as Python objects, every kind of missing (NaN, NaT, NA) as None."""
    return values.to_numpy(dtype=object, na_value=None)


def json_text(value: Any) -> str:
    """A JSON document as text (orjson: NaN as null, numpy scalars, dates as ISO text).
    None is the JSON null, as SQLAlchemy's JSON type stores it."""
    return orjson.dumps(value, option=_JSON_OPTIONS).decode()


def insert_columns(
    session: Session,
    model: type[Base],
    columns: Mapping[str, Sequence[Any] | np.ndarray],
    *,
    json_columns: Sequence[str] = (),
) -> int:
    """Insert the rows that `columns` (name -> values, all of one length) hold into `table`;
    returns how many. Values are Python ones (`column_values`), or a numpy array's that
    `.tolist()` makes Python ones; those of `json_columns` are JSON text already (`json_text`)."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    names = list(columns)
    if not names:
        return 0
    count = len(columns[names[0]])
    if count == 0:
        return 0
    for name in names:
        if len(columns[name]) != count:
            raise ValueError(f"column {name} has {len(columns[name])} values, not {count}")
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    target = f"{quote(table.name)} ({', '.join(quote(name) for name in names)})"
    connection = session.connection()
    converters = [_converter(table.c[name].type, dialect, name in json_columns) for name in names]
    # a batch at a time, so the driver's copy of the rows is never the whole of a large table
    for start in range(0, count, BATCH):
        rows = zip(
            *(
                convert(_batch(columns[name], start))
                for name, convert in zip(names, converters, strict=True)
            ),
            strict=True,
        )
        if dialect.name == "postgresql":
            _copy(connection, f"COPY {target} FROM STDIN", rows)
        else:
            # names from the table's metadata, quoted by the dialect; every value a parameter
            statement = f"INSERT INTO {target} VALUES ({', '.join('?' * len(names))})"  # noqa: S608
            connection.exec_driver_sql(statement, list(rows))  # one executemany, events and all
    return count


def _batch(values: Sequence[Any] | np.ndarray, start: int) -> Sequence[Any]:
    """One batch of a column; a numpy array's as Python values, made a batch at a time (a
    million records' keys as Python ints at once came to most of a gigabyte)."""
    part = values[start : start + BATCH]
    return part.tolist() if isinstance(part, np.ndarray) else part


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> int:
    """`insert_columns` of rows given as mappings, into every column but an autoincremented
    key; a row without a column holds the column's scalar default there, else NULL."""
    columns = {}
    for column in sa.inspect(model).local_table.columns:
        if column.autoincrement is True or (column.primary_key and column.type.python_type is int):
            continue
        scalar = column.default is not None and column.default.is_scalar
        default = getattr(column.default, "arg", None) if scalar else None
        columns[column.name] = [db_ready(row.get(column.name, default)) for row in rows]
    return insert_columns(session, model, columns)


def _converter(
    column_type: sa.types.TypeEngine[Any], dialect: sa.Dialect, is_json_text: bool
) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """How a column's values become what the driver takes: the column type's own bind
    processing (dates as SQLite text, booleans as integers, ...), JSON as orjson text."""
    if isinstance(column_type, sa.JSON):
        if is_json_text:
            return _unchanged
        return lambda values: [json_text(value) for value in values]
    if isinstance(column_type, sa.Integer):
        # a column of a frame with gaps is float (2004.0): an INSERT casts it, COPY refuses it
        return lambda values: [round(v) if isinstance(v, float) else v for v in values]
    process = column_type._cached_bind_processor(dialect)
    if process is None:
        return _unchanged

    def convert(values: Sequence[Any]) -> list[Any]:
        if len({id(value) for value in values}) == 1:  # one value (the run's time, its id)
            return [_bound(process, values[0])] * len(values)
        return [_bound(process, value) for value in values]

    return convert


def _unchanged(values: Sequence[Any]) -> Sequence[Any]:
    return values


def _bound(process: Any, value: Any) -> Any:
    return None if value is None else process(value)


def _copy(connection: sa.Connection, statement: str, rows: Iterator[tuple[Any, ...]]) -> None:
    """PostgreSQL's COPY of `rows` through psycopg, in the connection's transaction. SQLAlchemy
    has no COPY of its own: its cursor events are fired here (statement listeners see the write)
    and a driver's error is raised as SQLAlchemy's (IntegrityError, OperationalError, ...), so
    the load's handling (masking, retrying a lost connection) sees one kind of error."""
    dbapi = connection.dialect.loaded_dbapi
    raw: Any = connection.connection.driver_connection
    try:
        with raw.cursor() as cursor:
            connection.dispatch.before_cursor_execute(
                connection, cursor, statement, None, None, False
            )
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            connection.dispatch.after_cursor_execute(
                connection, cursor, statement, None, None, False
            )
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi.Error) from exc


def sqlite_bulk_pragmas(session: Session) -> None:
    """A bulk load's settings for this connection: a page cache of 256 MB (the indexes being
    filled stay in memory instead of being spilled and read again; the cache is memory the run
    holds until its commit, so not larger), temporary b-trees in memory, and one sync
    at the commit rather than one per journal write (the rollback journal still makes the
    transaction all or nothing)."""
    for pragma in ("cache_size=-262144", "temp_store=MEMORY", "synchronous=NORMAL"):
        session.execute(sa.text(f"PRAGMA {pragma}"))
