"""The load of `steward_task`: each task opened once."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from warehouse.load.bulk import insert_rows
from warehouse.load.chunks import chunks
from warehouse.models import MergeAuditSample, StewardTask
from warehouse.run_output import RunOutput
from warehouse.values import json_safe


def open_tasks(session: Session, output: RunOutput, now: dt.datetime) -> Counter[str]:
    """Open each task once: a key seen before (open, resolved or dismissed) is not reopened."""
    keys = [task["task_key"] for task in output.tasks]
    known: set[str] = set()
    for chunk in chunks(keys):
        known.update(
            session.execute(sa.select(StewardTask.task_key).where(StewardTask.task_key.in_(chunk)))
            .scalars()
            .all()
        )
    fresh: dict[str, dict[str, Any]] = {}
    for task in output.tasks:
        if task["task_key"] not in known and task["task_key"] not in fresh:
            fresh[task["task_key"]] = {
                **task,
                "details": json_safe(task["details"]),
                "status": "open",
                "created_at": now,
                "run_id": output.run_id,
            }
    insert_rows(session, StewardTask, list(fresh.values()))
    return Counter(task["task_type"] for task in fresh.values())


def write_audit_sample(session: Session, output: RunOutput) -> None:
    """The run's drawn automatic merges, each naming its task (opened now or by a run before)."""
    rows = {row["task_key"]: row for row in output.audit_sample}
    insert_rows(
        session,
        MergeAuditSample,
        [{"run_id": output.run_id, **row} for row in rows.values()],
    )
