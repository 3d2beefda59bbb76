"""When a task retries: only on a passing I/O fault, never on the user's input or our bug.

Prefect calls these as `retry_condition_fn(task, task_run, state)`; the failed state's result
is the exception the task raised.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mdm.errors import MdmError

# Prefect's delays between tries (exponential backoff: 1 s, 2 s, 4 s)
BACKOFF_SECONDS = [1.0, 2.0, 4.0]


def _error(state: Any) -> object:
    return state.result(raise_on_failure=False)


def is_transient_db_error(exc: BaseException) -> bool:
    """A database that went away or refused a connection: worth another try."""
    if isinstance(exc, sa.exc.OperationalError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


# the file is not there, or not ours to read: another try fails the same way
_PERMANENT_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def is_transient_io_error(exc: BaseException) -> bool:
    """A share that hiccuped (EIO, a stale handle, a timeout) or a database that went away.
    The channel readers name a broken file as a SourceError raised from its cause."""
    if isinstance(exc, MdmError):
        cause = exc.__cause__
        if cause is None or isinstance(cause, MdmError):
            return False
        return is_transient_io_error(cause)
    if isinstance(exc, OSError):
        return not isinstance(exc, _PERMANENT_OS_ERRORS)
    return is_transient_db_error(exc)


def retry_on_io_error(task: Any, task_run: Any, state: Any) -> bool:
    """Reading a channel: retry a file system or database hiccup, never a broken file."""
    error = _error(state)
    return isinstance(error, BaseException) and is_transient_io_error(error)


def retry_on_transient_load(task: Any, task_run: Any, state: Any) -> bool:
    """The load: retry only a lost or refused connection (flows/pipeline.py raises
    LoadInterrupted for those); a constraint violation fails the same way every time."""
    return type(_error(state)).__name__ == "LoadInterrupted"
