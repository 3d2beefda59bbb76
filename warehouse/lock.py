"""One run per warehouse: a lock that the operating system or the database drops when its holder
dies, so that a killed run never leaves the warehouse locked.

PostgreSQL: a session-level advisory lock on a connection held for the whole run, keyed by the
database and schema (two warehouses in one database do not block each other). SQLite: an
exclusive `flock` on a file beside the database file (`warehouse.db.lock`); an in-memory
database lives in one process and needs none. Other databases are refused: nothing would stop
two runs from numbering new customers from the same id.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mdm.errors import MdmError

POLL_SECONDS = 0.5


class WarehouseBusy(MdmError):
    """Another run holds the warehouse, and it did not let go within the wait."""


class LockLost(MdmError):
    """The run's lock went away while it worked (its PostgreSQL connection closed)."""


@dataclass(frozen=True)
class HeldLock:
    """What the load needs to check that the run still holds the warehouse: on PostgreSQL the
    backend process of the lock's connection and the lock's key (plain values, so a Prefect
    task can take them); None on SQLite, where the lock lives as long as the process."""

    backend_pid: int | None = None
    key: int | None = None

    def check(self, connection: sa.Connection) -> None:
        """Raise LockLost unless the lock is still granted to the run's lock connection.

        A PostgreSQL session lock ends with its connection (a server restart, a proxy's idle
        timeout, a terminated backend): another run may then take the warehouse while this
        one is still working, and two loads would number customers from the same id."""
        if self.backend_pid is None or self.key is None:
            return
        held = connection.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = :pid AND objsubid = 1"
                " AND ((classid::bigint << 32) | objid::bigint) = (:key)::bigint"
            ),
            {"pid": self.backend_pid, "key": self.key},
        ).scalar_one()
        if not held:
            raise LockLost(
                "the run lost its lock on the warehouse (its database connection closed);"
                " nothing was loaded: run it again"
            )


@contextmanager
def warehouse_lock(
    engine: Engine,
    *,
    wait_seconds: float,
    holder: Callable[[], str] = lambda: "another run",
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[HeldLock]:
    """Hold the warehouse's run lock inside the block, which gets a HeldLock to check it by.
    Waits up to ``wait_seconds`` for the current holder (``holder()`` names it; ``on_wait``
    hears that name once, when the wait starts), then raises WarehouseBusy naming it."""
    wait = _Wait(wait_seconds, holder, on_wait)
    dialect = engine.dialect.name
    if dialect == "postgresql":
        lock = _postgres_lock(engine, wait)
    elif dialect == "sqlite":
        lock = _sqlite_lock(engine, wait)
    else:
        raise MdmError(f"a {dialect} warehouse cannot hold a run lock (use SQLite or PostgreSQL)")
    with lock as held:
        yield held


@dataclass(frozen=True)
class _Wait:
    seconds: float
    holder: Callable[[], str]
    on_wait: Callable[[str], None] | None

    def until(self, try_once: Callable[[], bool]) -> None:
        """Try now, then every POLL_SECONDS until the wait is over."""
        if try_once():
            return
        deadline = time.monotonic() + self.seconds
        if self.on_wait is not None:
            self.on_wait(self.holder())
        while time.monotonic() < deadline:
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
            if try_once():
                return
        raise WarehouseBusy(
            f"{self.holder()} holds the warehouse; gave up waiting after {self.seconds:g} s"
        )


@contextmanager
def _postgres_lock(engine: Engine, wait: _Wait) -> Iterator[HeldLock]:
    with engine.connect() as connection:
        where = connection.execute(
            sa.text("SELECT current_database(), current_schema(), pg_backend_pid()")
        ).one()
        key = _lock_key(f"customer-mdm run:{where[0]}:{where[1]}")

        def try_once() -> bool:
            taken = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
            connection.commit()  # no transaction stays open on the lock's connection
            return bool(taken.scalar_one())

        wait.until(try_once)
        try:
            yield HeldLock(backend_pid=int(where[2]), key=key)
        finally:
            if not connection.closed and not connection.invalidated:
                try:
                    connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
                except sa.exc.DBAPIError:
                    pass  # the connection is gone, and the lock went with it


def _lock_key(text: str) -> int:
    """A signed 64-bit key, as pg_advisory_lock takes it."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


@contextmanager
def _sqlite_lock(engine: Engine, wait: _Wait) -> Iterator[HeldLock]:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        yield HeldLock()  # one process's database: no other run can reach it
        return
    path = Path(database).resolve().with_name(Path(database).name + ".lock")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:

        def try_once() -> bool:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        wait.until(try_once)
        try:
            yield HeldLock()  # a flock lasts as long as this process holds the descriptor
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
