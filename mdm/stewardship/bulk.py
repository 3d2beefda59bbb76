"""Bulk decisions written set-wise: 100,000 tasks in seconds, each still audited on its own.

A bulk confirm, not-a-match, dismissal or assignment reads its tasks a chunk at a time, checks
every one as the one-at-a-time action would (with the same message, naming which of the
many failed), then writes one `steward_decision` row per task (who, when, before, after, why)
in batched inserts and changes the tasks' status in one UPDATE per chunk. What it writes is
what mdm/stewardship/actions.py writes for a single task, so the next run reads a bulk
confirmation as a must-link and a bulk not-a-match as a cannot-link (warehouse/state.py).

Four eyes are decided before (mdm/stewardship/approvals.py): this module only applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.stewardship.queue import ReviewError
from mdm.stewardship.tasks import PAIR_TASK_TYPES
from warehouse.load.bulk import insert_rows
from warehouse.load.chunks import chunks
from warehouse.models import StewardDecision, StewardTask
from warehouse.planner import unindexed

FAST_ACTIONS = frozenset({"confirm_match", "not_a_match", "dismiss"})
PAIR_ACTIONS = frozenset({"confirm_match", "not_a_match"})
# the status a decision leaves its task in
STATUS_AFTER = {"confirm_match": "resolved", "not_a_match": "resolved", "dismiss": "dismissed"}


class Decided(Protocol):
    """What a bulk needs of a decision (mdm.stewardship.approvals.Request)."""

    @property
    def task_id(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def reason(self) -> str | None: ...


class DecisionError(ReviewError):
    """One decision of many cannot be made; ``index`` says which (from 0)."""

    def __init__(self, index: int, error: ReviewError) -> None:
        super().__init__(str(error))
        self.index = index


@dataclass(frozen=True)
class _Task:
    status: str
    task_type: str
    task_key: str
    details: dict[str, Any]
    assigned_to: str | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ids_in(column: Any, chunk: Sequence[int]) -> sa.ColumnElement[bool]:
    """``column IN (…)`` with the chunk's integers written into the statement: psycopg spent
    more time converting 5,000 parameters a statement than PostgreSQL spent running it."""
    ids: sa.BindParameter[list[int]] = sa.bindparam(
        "ids", [int(i) for i in chunk], expanding=True, literal_execute=True
    )
    return column.in_(ids)


def who(by: str) -> str:
    if not by.strip():
        raise ReviewError("say who decides (--by)")
    return by.strip()


def _stored(session: Session, task_ids: Iterable[int]) -> dict[int, _Task]:
    """The tasks' columns a decision needs, read a chunk at a time (no ORM objects)."""
    session.flush()  # what this session changed one at a time is read back as it now is
    found: dict[int, _Task] = {}
    table = StewardTask.__table__
    columns = (table.c.task_id, table.c.status, table.c.task_type, table.c.task_key)
    wanted = sorted(set(task_ids))
    for chunk in chunks(wanted):
        rows = session.execute(
            sa.select(*columns, table.c.details, table.c.assigned_to).where(
                _ids_in(table.c.task_id, chunk)
            )
        )
        for task_id, status, task_type, key, details, assigned in rows:
            found[task_id] = _Task(status, task_type, key, details or {}, assigned)
    return found


def _refusal(request: Decided, task: _Task | None, status_now: str | None) -> str | None:
    """Why this decision cannot be made, in the words of the one-at-a-time action, or None."""
    if request.action not in FAST_ACTIONS:
        return f"'{request.action}' is not a bulk action"
    if request.action == "dismiss" and not (request.reason or "").strip():
        return "a dismissal needs a reason"
    if task is None:
        return f"there is no task {request.task_id}"
    if status_now != "open":
        return f"task {request.task_id} is already {status_now}"
    if request.action in PAIR_ACTIONS and task.task_type not in PAIR_TASK_TYPES:
        return f"task {request.task_id} is a {task.task_type} task, not a pair"
    return None


def check(
    session: Session,
    requests: Sequence[Decided],
    *,
    indexes: Sequence[int] | None = None,
    status_after: dict[str, str] | None = None,
) -> dict[int, _Task]:
    """Every request can be made, or DecisionError for the first that cannot (``indexes``:
    each request's place among all, for the message). A task decided twice fails the second
    time, as it would one at a time (``status_after``: the status the first left it in)."""
    places = list(indexes) if indexes is not None else list(range(len(requests)))
    tasks = _stored(session, (r.task_id for r in requests))
    status: dict[int, str] = {}
    after = status_after or STATUS_AFTER
    for place, request in zip(places, requests, strict=True):
        task = tasks.get(request.task_id)
        current = status.get(request.task_id, task.status if task else None)
        why = _refusal(request, task, current)
        if why is not None:
            raise DecisionError(place, ReviewError(why))
        status[request.task_id] = after[request.action]
    return tasks


def _subject(request: Decided, task: _Task) -> tuple[dict[str, Any], Any, Any]:
    """subject, before and after as actions.py writes them for the action."""
    if request.action == "dismiss":
        return {"task_key": task.task_key}, None, None
    details = task.details
    return (
        {"left": details["left"], "right": details["right"]},
        {
            "left_customer_id": details.get("left_customer_id"),
            "right_customer_id": details.get("right_customer_id"),
        },
        {"same_person": request.action == "confirm_match"},
    )


def _insert_decisions(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the decisions at the speed of the database (warehouse/load/bulk.py: one
    executemany on SQLite, COPY on PostgreSQL); their ids in the order of ``rows``, read back
    by task (a bulk decides each task once) among those of this moment and decider."""
    if not rows:
        return []
    session.flush()
    insert_rows(session, StewardDecision, rows)
    first = rows[0]
    by_task: dict[int, int] = {}
    for chunk in chunks(sorted({row["task_id"] for row in rows})):
        found = session.execute(
            sa.select(StewardDecision.task_id, StewardDecision.decision_id).where(
                _ids_in(StewardDecision.task_id, chunk),
                StewardDecision.decided_at == first["decided_at"],
                StewardDecision.decided_by == first["decided_by"],
            )
        )
        by_task.update({task_id: decision_id for task_id, decision_id in found})
    return [by_task[row["task_id"]] for row in rows]


@dataclass(frozen=True)
class WrittenDecision:
    """A decision as a bulk wrote it: the columns of its `steward_decision` row (100,000 ORM
    objects would cost more than writing the rows)."""

    decision_id: int
    task_id: int
    action: str
    subject: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    decided_by: str
    decided_at: dt.datetime


def _expire(session: Session, task_ids: set[int]) -> None:
    """Tasks this session holds as objects are read again after a set-wise UPDATE."""
    for held in list(session.identity_map.values()):
        if isinstance(held, StewardTask) and held.task_id in task_ids:
            session.expire(held)


def _set_status(
    session: Session, task_ids: Sequence[int], values: dict[str, Any], *, was: str
) -> None:
    """One UPDATE per chunk; a task another steward decided meanwhile fails the whole bulk."""
    # SQLite would otherwise read every task of that status through a status index for each
    # chunk instead of the chunk's keys (warehouse/planner.py)
    status = unindexed(StewardTask.status)
    for chunk in chunks(sorted(set(task_ids))):
        changed = session.execute(
            sa.update(StewardTask)
            .where(_ids_in(StewardTask.task_id, chunk), status == was)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != len(chunk):  # type: ignore[attr-defined]
            raise ReviewError("some of these tasks were decided meanwhile; nothing was changed")
    _expire(session, set(task_ids))


def apply_many(
    session: Session,
    requests: Sequence[Decided],
    *,
    by: str,
    indexes: Sequence[int] | None = None,
) -> list[WrittenDecision]:
    """Confirm, not-a-match or dismiss every request's task: one decision row per task and
    its status changed, set-wise. All or nothing: the first request that cannot be made
    raises DecisionError before anything is written."""
    decided_by = who(by)
    tasks = check(session, requests, indexes=indexes)
    now = _now()
    rows = []
    for request in requests:
        subject, before, after = _subject(request, tasks[request.task_id])
        rows.append(
            {
                "task_id": request.task_id,
                "action": request.action,
                "subject": subject,
                "before": before,
                "after": after,
                "reason": (request.reason or "").strip() or None,
                "decided_by": decided_by,
                "decided_at": now,
            }
        )
    ids = _insert_decisions(session, rows)
    for status in sorted(set(STATUS_AFTER.values())):
        chosen = [r.task_id for r in requests if STATUS_AFTER[r.action] == status]
        if chosen:
            values = {"status": status, "resolved_at": now, "resolved_by": decided_by}
            _set_status(session, chosen, values, was="open")
    return [WrittenDecision(decision_id=i, **row) for i, row in zip(ids, rows, strict=True)]


def hold(session: Session, task_ids: Sequence[int]) -> None:
    """The tasks of a pending change wait (status `pending`) for its checker."""
    _set_status(session, task_ids, {"status": "pending"}, was="open")


def reopen(session: Session, task_ids: Sequence[int]) -> None:
    """The tasks of a checked change that still wait are open again."""
    session.flush()
    status = unindexed(StewardTask.status)  # as in _set_status
    for chunk in chunks(sorted(set(task_ids))):
        session.execute(
            sa.update(StewardTask)
            .where(_ids_in(StewardTask.task_id, chunk), status == "pending")
            .values(status="open")
            .execution_options(synchronize_session=False)
        )
    _expire(session, set(task_ids))


def assign_many(
    session: Session, *, task_ids: Sequence[int], to: str, by: str, reason: str | None = None
) -> int:
    """Give tasks to a user or a team (``to``; empty: nobody): an `assign_task` decision per
    task with whom it was assigned to before, and one UPDATE per chunk."""
    decided_by, assignee = who(by), to.strip() or None
    tasks = _stored(session, task_ids)
    missing = [task_id for task_id in task_ids if task_id not in tasks]
    if missing:
        raise ReviewError(f"there is no task {missing[0]}")
    now = _now()
    _insert_decisions(
        session,
        [
            {
                "task_id": task_id,
                "action": "assign_task",
                "subject": {"task_id": task_id},
                "before": {"assigned_to": tasks[task_id].assigned_to},
                "after": {"assigned_to": assignee},
                "reason": (reason or "").strip() or None,
                "decided_by": decided_by,
                "decided_at": now,
            }
            for task_id in task_ids
        ],
    )
    for chunk in chunks(sorted(set(task_ids))):
        session.execute(
            sa.update(StewardTask)
            .where(_ids_in(StewardTask.task_id, chunk))
            .values(assigned_to=assignee)
            .execution_options(synchronize_session=False)
        )
    _expire(session, set(task_ids))
    return len(task_ids)
