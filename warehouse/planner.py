"""`unindexed(column)`: the column, in a form SQLite's planner uses no index for.

SQLite, without statistics, plans a query by its indexes' shapes: given `status = 'open'` it
walks every open task through a status index even when another condition (a manager's
customers, one chunk of task ids) would find the few rows wanted directly. Its documented cure
is a unary `+` on the column, which keeps the term out of index selection and changes nothing
else. PostgreSQL plans by statistics and gets the column as it is: an expression there would
hide the column's statistics and mislead it instead (a nested loop over 200,000 tasks).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class unindexed(FunctionElement[Any]):
    inherit_cache = True

    def __init__(self, column: Any) -> None:  # a column or an ORM attribute
        super().__init__(column)
        self.type = sa.inspect(column).type if hasattr(column, "property") else column.type


@compiles(unindexed)
def _as_is(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(unindexed, "sqlite")
def _no_index_on_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(+{compiler.process(element.clauses, **kw)})"
