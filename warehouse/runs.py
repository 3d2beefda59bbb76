"""Run bookkeeping (`pipeline_run`) and the one-transaction write of a run's result.

Data-access functions take the session as their first argument and everything else by keyword;
SQL is always built by SQLAlchemy, never pasted together."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mdm.errors import MdmError
from mdm.masking import mask_text
from warehouse.db import migrate
from warehouse.load.bulk import sqlite_bulk_pragmas
from warehouse.load.customers import write_customers
from warehouse.load.index_builds import indexes_built_after
from warehouse.load.match_keys import write_match_keys
from warehouse.load.quarantine import write_quarantine
from warehouse.load.records import write_source_records, write_xref
from warehouse.load.relationships import write_relationships
from warehouse.load.segments import write_alerts, write_segments
from warehouse.load.tasks import open_tasks, write_audit_sample
from warehouse.lock import HeldLock, warehouse_lock
from warehouse.models import PipelineRun, StewardTask
from warehouse.run_output import RunOutput
from warehouse.segment_refresh import bring_to_run_date, stored_segment_sizes
from warehouse.state import next_customer_number
from warehouse.values import json_safe


@contextmanager
def held_run(
    engine: Engine,
    *,
    run_id: str,
    sources_dir: str,
    wait_seconds: float,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[HeldLock]:
    """The warehouse for one run, from its lock to its end; the block gets the HeldLock that
    the load checks before it writes and again before it commits.

    Under the lock: the schema is brought up to date, runs that died while `running` are
    marked failed, and this run's `running` row is written. A block that raises anything,
    Ctrl-C and SIGTERM included, marks the run failed with ``describe_failure`` of the error
    (masked) before the lock is let go. ``on_wait`` hears which run it waits for.
    """

    holder = partial(_holder, engine)
    with warehouse_lock(engine, wait_seconds=wait_seconds, holder=holder, on_wait=on_wait) as held:
        migrate(engine)
        with Session(engine) as session, session.begin():
            reconcile_stale_runs(session, by_run_id=run_id)
            start_run(session, run_id=run_id, sources_dir=sources_dir)
        try:
            yield held
        except BaseException as exc:
            with Session(engine) as session, session.begin():
                fail_run(session, run_id=run_id, error=describe_failure(exc))
            raise


def _holder(engine: Engine) -> str:
    """The run that holds the warehouse, as its `running` row names it."""
    try:
        with Session(engine) as session:
            row = session.execute(
                sa.select(PipelineRun.run_id, PipelineRun.started_at)
                .where(PipelineRun.status == "running")
                .order_by(PipelineRun.started_at.desc())
                .limit(1)
            ).first()
    except sa.exc.SQLAlchemyError:  # a warehouse its first run is still creating
        row = None
    if row is None:
        return "another run"
    return f"run {row.run_id} (started {row.started_at:%Y-%m-%d %H:%M:%S} UTC)"


def describe_failure(exc: BaseException) -> str:
    """A failure as pipeline_run.error keeps it: the error's type and message, masked, without
    the statement parameters a database error carries (whole customer rows)."""
    # Prefect turns SIGTERM inside a flow into its TerminationSignal (named here, so that the
    # warehouse needs no Prefect import)
    if isinstance(exc, KeyboardInterrupt | SystemExit) or type(exc).__name__ == "TerminationSignal":
        return "stopped (interrupted or terminated) before it finished"
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        exc = exc.orig
    return mask_text(f"{type(exc).__name__}: {exc}")[:2000]


def reconcile_stale_runs(session: Session, *, by_run_id: str) -> int:
    """Mark failed the runs still `running`: under the lock, no other run is alive, so these
    died (killed, or their machine went down). Returns how many."""
    result: Any = session.execute(
        sa.update(PipelineRun)
        .where(PipelineRun.status == "running")
        .values(
            status="failed",
            finished_at=dt.datetime.now(dt.UTC),
            error="ended without finishing (killed, or its machine stopped);"
            f" found by run {by_run_id}",
        )
    )
    return int(result.rowcount or 0)


def _check_customer_numbering(session: Session, first_number: int | None) -> None:
    """The run's new customer ids must still be free: under the run lock nothing else numbers
    customers, but a steward's split just before the lock was taken could have."""
    if first_number is not None and next_customer_number(session) != first_number:
        raise MdmError(
            "customers were added to the warehouse while this run worked (a steward's split?);"
            " nothing was loaded: run it again"
        )


def start_run(session: Session, *, run_id: str, sources_dir: str) -> None:
    session.add(
        PipelineRun(
            run_id=run_id,
            status="running",
            sources_dir=sources_dir,
            started_at=dt.datetime.now(dt.UTC),
            counts={},
            timings={},
        )
    )


def record_timings(engine: Engine, run_id: str, timings: dict[str, float]) -> None:
    """Every stage's time, the load's included, once the load has committed (the load cannot
    write its own time in the transaction it is timing)."""
    with Session(engine) as session, session.begin():
        session.execute(
            sa.update(PipelineRun)
            .where(PipelineRun.run_id == run_id)
            .values(timings=json_safe(timings))
        )


def fail_run(session: Session, *, run_id: str, error: str) -> None:
    session.execute(
        sa.update(PipelineRun)
        .where(PipelineRun.run_id == run_id)
        .values(status="failed", error=error, finished_at=dt.datetime.now(dt.UTC))
    )


def write_run(session: Session, output: RunOutput) -> dict[str, Any]:
    """Write a run's whole result; the caller commits once, so a failure leaves nothing half done.

    Returns what changed: customers created, updated, retired; related customer pairs found;
    segment changes, alerts raised, tasks opened (in all and by type) and the open backlog
    after them, under the names RunSummary gives them.
    """
    now = dt.datetime.now(dt.UTC)
    output.lock.check(session.connection())
    if session.get_bind().dialect.name == "sqlite":
        sqlite_bulk_pragmas(session)
    _check_customer_numbering(session, output.first_customer_number)
    with indexes_built_after(session):  # PostgreSQL's first load: load/index_builds.py
        changes = _write_tables(session, output, now)
    session.execute(
        sa.update(PipelineRun)
        .where(PipelineRun.run_id == output.run_id)
        .values(
            status="success",
            finished_at=now,
            counts=json_safe({**output.counts, **changes}),
            timings=json_safe(output.timings),
            match_parameters=json_safe(output.match_parameters),
            score_histogram=json_safe(output.score_histogram),
            report_path=output.report_path,
        )
    )
    output.lock.check(session.connection())  # the write took a while: still ours to commit?
    return changes


def _write_tables(session: Session, output: RunOutput, now: dt.datetime) -> dict[str, Any]:
    """Every table's share of the run; returns what changed (see write_run)."""
    write_source_records(session, output, now)
    write_match_keys(session, output)
    changes: dict[str, Any] = dict(write_customers(session, output, now))
    write_xref(session, output, now)
    changes["relationships_found"] = write_relationships(session, output, now)
    calendar = bring_to_run_date(session, output)  # the other customers' age-driven segments
    changes["segment_changes"] = write_segments(session, output, now) + calendar
    if output.calendar_rules is not None:  # a partial run segmented its own customers only
        changes["segment_sizes"] = stored_segment_sizes(session)
    changes["alerts_raised"] = write_alerts(session, output, now)
    opened = open_tasks(session, output, now)
    write_audit_sample(session, output)
    changes["tasks_opened"] = sum(opened.values())
    changes["tasks_by_type"] = dict(sorted(opened.items()))
    changes["tasks_open"] = session.scalar(
        sa.select(sa.func.count()).select_from(StewardTask).where(StewardTask.status == "open")
    )
    write_quarantine(session, output, now)
    return changes


def stored_score_histogram(
    session: Session, *, run_id: str | None = None, latest: int = 50
) -> tuple[PipelineRun, dict[str, Any]] | None:
    """The run (``run_id``, else the latest successful one that scored every pair, else the
    latest that kept one) and the weight histogram of its scored pairs
    (pipeline_run.score_histogram), for what-if thresholds; None when no run of the
    ``latest`` kept one. An incremental run scored only its new records' pairs."""
    query = sa.select(PipelineRun).where(PipelineRun.status == "success")
    if run_id is not None:
        query = query.where(PipelineRun.run_id == run_id)
    kept = [
        (run, run.score_histogram)
        for run in session.scalars(query.order_by(PipelineRun.started_at.desc()).limit(latest))
    ]
    found = [(run, histogram) for run, histogram in kept if histogram]
    whole = [(run, histogram) for run, histogram in found if histogram.get("matched_all")]
    return (whole or found)[0] if found else None
