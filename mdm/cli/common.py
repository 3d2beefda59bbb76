"""What every command group shares: the --warehouse option, the one-line error guard, and a
session on a warehouse that has a completed run."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy.orm import Session

from mdm.errors import MdmError
from mdm.masking import mask_text

WarehouseOption = Annotated[
    str | None,
    typer.Option(
        "--warehouse",
        help="SQLAlchemy URL (default: $MDM_WAREHOUSE_URL, else sqlite:///warehouse.db)",
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr, with any identifier in it masked, and the exit code."""
    typer.echo(f"mdm: error: {mask_text(message)}", err=True)
    raise typer.Exit(code)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it unwinds as on Ctrl-C: the run is marked
    failed, its lock let go, and the temporary Prefect server stopped at exit."""


@contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """Inside the block SIGTERM stops the command as Ctrl-C does (exit 143, not 130)."""

    def terminate(_signal: int, _frame: Any) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def guarded(action: Callable[[], Any]) -> Any:
    """Run a command body: user errors become one line; a bug says so and where to look."""
    try:
        return action()
    except MdmError as exc:
        fail(str(exc))
    except _Terminated:
        fail("terminated; the warehouse keeps its last complete run", code=143)
    except KeyboardInterrupt:
        fail("interrupted; the warehouse keeps its last complete run", code=130)
    except Exception as exc:
        if os.environ.get("MDM_DEBUG"):
            raise
        fail(
            f"internal error ({type(exc).__name__}: {exc}); rerun with MDM_DEBUG=1 for details",
            code=70,
        )


def use_warehouse(url: str | None) -> str:
    """The warehouse URL from --warehouse, else the process settings (environment)."""
    if url:
        os.environ["MDM_WAREHOUSE_URL"] = url
    from mdm.settings import ProcessSettings

    try:
        return ProcessSettings().warehouse_url
    except ValueError as exc:
        raise MdmError(str(exc).splitlines()[-1]) from exc


def migrated_url(warehouse: str | None) -> str:
    """The warehouse URL, its schema brought up to date (for commands that may start empty)."""
    from warehouse.db import create_warehouse_engine, migrate

    url = use_warehouse(warehouse)
    engine = create_warehouse_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return url


@contextmanager
def warehouse_session(warehouse: str | None, *, write: bool = False) -> Iterator[Session]:
    """A session on a warehouse that a run has brought up to date; with ``write``, one
    transaction that commits when the block ends without an error."""
    from warehouse.db import create_warehouse_engine, is_up_to_date

    engine = create_warehouse_engine(use_warehouse(warehouse))
    try:
        if not is_up_to_date(engine):
            raise MdmError("the warehouse has no completed run yet (run `mdm run` first)")
        with Session(engine) as session:
            if write:
                with session.begin():
                    yield session
            else:
                yield session
    finally:
        engine.dispose()
