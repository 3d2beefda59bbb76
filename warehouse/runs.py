"""Run bookkeeping (`pipeline_run`) and the one-transaction write of a run's result.

Data-access functions take the session as their first argument and everything else by keyword;
SQL is always built by SQLAlchemy, never pasted together."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from warehouse.load.customers import write_customers
from warehouse.load.quarantine import write_quarantine
from warehouse.load.records import write_source_records, write_xref
from warehouse.load.segments import write_alerts, write_segments
from warehouse.load.tasks import open_tasks
from warehouse.models import PipelineRun
from warehouse.run_output import RunOutput
from warehouse.values import json_safe


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


def fail_run(session: Session, *, run_id: str, error: str) -> None:
    session.execute(
        sa.update(PipelineRun)
        .where(PipelineRun.run_id == run_id)
        .values(status="failed", error=error, finished_at=dt.datetime.now(dt.UTC))
    )


def write_run(session: Session, output: RunOutput) -> dict[str, int]:
    """Write a run's whole result; the caller commits once, so a failure leaves nothing half done.

    Returns what changed: customers created, updated, retired; tasks opened.
    """
    now = dt.datetime.now(dt.UTC)
    write_source_records(session, output, now)
    changes = write_customers(session, output, now)
    write_xref(session, output, now)
    changes["segment_changes"] = write_segments(session, output, now)
    changes["alerts_raised"] = write_alerts(session, output, now)
    opened = open_tasks(session, output, now)
    changes["tasks_opened"] = sum(opened.values())
    changes.update({f"tasks_opened_{kind}": count for kind, count in opened.items()})
    write_quarantine(session, output, now)
    session.execute(
        sa.update(PipelineRun)
        .where(PipelineRun.run_id == output.run_id)
        .values(
            status="success",
            finished_at=now,
            counts=json_safe({**output.counts, **changes}),
            timings=json_safe(output.timings),
            match_parameters=json_safe(output.match_parameters),
            report_path=output.report_path,
        )
    )
    return changes
