"""The steward queue and what a steward looks at: tasks by filter and page, customers, their
source records and the audit trail. Reads only; mdm/stewardship/actions.py decides."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.customer_ids import CUSTOMER_ID
from mdm.errors import MdmError
from mdm.schema import record_key, split_record_key
from mdm.standardize.ids import normalize_resident_id
from mdm.standardize.phones import to_e164
from warehouse.models import Customer, CustomerXref, SourceRecord, StewardDecision, StewardTask
from warehouse.planner import unindexed

STATUSES = ("open", "pending", "resolved", "dismissed")


class ReviewError(MdmError):
    """A steward action that cannot be done as asked (unknown task, already decided, bad value)."""


@dataclass(frozen=True)
class TaskFilter:
    """What the queue shows: by type, status and channel, and a search text that finds a
    customer id, a name, or a whole phone or ID number (see identifier_search)."""

    task_type: str | None = None
    status: str = "open"
    channel: str | None = None
    search: str | None = None
    rule: str | None = None  # steward_task.rule: risk_assessment_expired, mobile_disagrees …
    branch: str | None = None  # the customer's branch_code
    relationship_manager: str | None = None  # the customer's
    assigned_to: str | None = None
    due: str | None = None  # overdue (due before today) or today (DUE_WHEN)


DUE_WHEN = ("overdue", "today")


def _filtered(query: sa.Select[Any], where: TaskFilter) -> sa.Select[Any]:
    owned = bool(where.branch or where.relationship_manager)
    status: Any = StewardTask.status
    if owned:
        # A branch's or a manager's tasks are a few of many: start from their customers
        # (ix_customer_branch_code, …) and take each one's tasks by ix_steward_task_customer.
        # An expression no index holds keeps SQLite from walking every open task through a
        # status index instead (grouping a manager's 4,000 of 200,000 open tasks: 130 ms that
        # way, 12 ms this way; warehouse/planner.py).
        status = unindexed(StewardTask.status)
    query = query.where(status == where.status)
    if where.task_type:
        query = query.where(StewardTask.task_type == where.task_type)
    if where.channel:
        query = query.where(StewardTask.source_system == where.channel)
    if where.rule:
        query = query.where(StewardTask.rule == where.rule)
    if where.assigned_to:
        query = query.where(StewardTask.assigned_to == where.assigned_to)
    if where.due == "overdue":
        # most of a backlog may be late: walk the queue's order, not every late task to sort
        query = query.where(unindexed(StewardTask.due_on) < dt.date.today())
    elif where.due == "today":
        query = query.where(StewardTask.due_on == dt.date.today())
    owners = [
        column == value
        for column, value in (
            (Customer.branch_code, where.branch),
            (Customer.relationship_manager, where.relationship_manager),
        )
        if value
    ]
    if owners:
        query = query.where(
            StewardTask.customer_id.in_(sa.select(Customer.customer_id).where(*owners))
        )
    text = (where.search or "").strip()
    if not text:
        return query
    if CUSTOMER_ID.fullmatch(text.upper()):
        return query.where(StewardTask.customer_id == text.upper())
    customers = sa.select(Customer.customer_id)
    identifier = identifier_search(text)
    if identifier is None:
        customers = customers.where(Customer.full_name.contains(text, autoescape=True))
    else:
        field, value = identifier
        customers = customers.where(getattr(Customer, field) == value)
    return query.where(StewardTask.customer_id.in_(customers))


def identifier_search(text: str) -> tuple[str, str] | None:
    """The field and normalized value when the search text is a phone or an ID number (None for
    a name). Only whole numbers are searched, by exact match: a masked or partial one would let
    a viewer, who sees 138****5678, recover the hidden digits one search at a time."""
    text = text.strip()
    if not _IDENTIFIER_LIKE.fullmatch(text) or CUSTOMER_ID.fullmatch(text.upper()):
        return None
    if not _MASK_CHARS.search(text):
        mobile = to_e164(text)
        if mobile is not None:
            return "mobile", mobile
        resident = normalize_resident_id(text)
        if resident.number and not resident.masked and len(resident.number) == 18:
            return "id_number", resident.number  # a wrong check digit is still a whole number
    raise ReviewError(
        "search a phone or an ID number by the whole number; masked or partial numbers"
        " are not searched"
    )


# Digits, separators, masks and an ID's check letter: a phone or an ID number, not a name.
_IDENTIFIER_LIKE = re.compile(r"(?=.*[\d*●•×])[\d\s+\-().*●•×xX]+")
_MASK_CHARS = re.compile(r"[*●•×]")


def list_tasks(
    session: Session,
    *,
    where: TaskFilter = TaskFilter(),
    by_priority: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[StewardTask]:
    """Tasks matching the filter, oldest first (or most urgent first), one page of them."""
    created: Any = StewardTask.created_at
    if where.search:
        # A search finds few customers: their index should drive the query and the few tasks be
        # sorted, but SQLite would walk every open task in date order to match ORDER BY; an
        # expression no index holds keeps it from doing that.
        created = sa.func.coalesce(StewardTask.created_at, StewardTask.created_at)
    elif where.branch or where.relationship_manager or where.due == "today":
        # the same on SQLite for a branch's, a manager's or today's tasks (warehouse/planner.py);
        # PostgreSQL plans these by its statistics (a manager's page: 6 ms in the queue's
        # order, 41 ms sorted after a hash join)
        created = unindexed(StewardTask.created_at)
    order = (
        [StewardTask.priority, created, StewardTask.task_id]
        if by_priority
        else [created, StewardTask.task_id]
    )
    # The page's ids first, from the index alone; then only those rows (a deep OFFSET would
    # otherwise read every skipped row in full).
    ids = _filtered(sa.select(StewardTask.task_id), where).order_by(*order)
    page = list(session.execute(ids.limit(limit).offset(offset)).scalars())
    rows = session.execute(sa.select(StewardTask).where(StewardTask.task_id.in_(page))).scalars()
    by_id = {task.task_id: task for task in rows}
    return [by_id[task_id] for task_id in page]


def count_tasks(session: Session, *, where: TaskFilter = TaskFilter()) -> int:
    query = _filtered(sa.select(sa.func.count()).select_from(StewardTask), where)
    return int(session.execute(query).scalar_one())


def counts_by_type(session: Session, *, status: str = "open") -> dict[str, int]:
    rows = session.execute(
        sa.select(StewardTask.task_type, sa.func.count())
        .where(StewardTask.status == status)
        .group_by(StewardTask.task_type)
    ).all()
    return {task_type: int(count) for task_type, count in rows}


@dataclass(frozen=True)
class TaskGroup:
    task_type: str
    rule: str | None
    tasks: int


def task_groups(session: Session, *, where: TaskFilter = TaskFilter()) -> list[TaskGroup]:
    """Tasks by type and rule, the largest group first: what a queue's first screen shows
    ("compliance · risk_assessment_expired: 152,585")."""
    count = sa.func.count().label("tasks")
    task_type: Any = StewardTask.task_type
    rule: Any = StewardTask.rule
    if where.assigned_to:
        # one person's work is a few of many tasks: grouped by unindexed columns, SQLite
        # takes them by ix_steward_task_assigned instead of reading every open task's row
        # through ix_steward_task_summary for the order it gives the grouping
        task_type = unindexed(task_type).label("task_type")
        rule = unindexed(rule).label("rule")
    query = _filtered(sa.select(task_type, rule, count), where)
    rows = session.execute(
        query.group_by(task_type, rule).order_by(count.desc(), task_type, rule)
    ).all()
    return [TaskGroup(task_type, rule, int(tasks)) for task_type, rule, tasks in rows]


@dataclass(frozen=True)
class Overview:
    """The queue's first screen in one pass over one index (ix_steward_task_summary): tasks of
    a status by type and rule, and how many are overdue and due today."""

    groups: list[TaskGroup]  # the largest first
    overdue: int
    due_today: int

    def counts_by_type(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for group in self.groups:
            counts[group.task_type] = counts.get(group.task_type, 0) + group.tasks
        return counts


def task_overview(
    session: Session, *, status: str = "open", today: dt.date | None = None
) -> Overview:
    today = today or dt.date.today()
    rows = session.execute(
        sa.select(
            StewardTask.task_type,
            StewardTask.rule,
            sa.func.count(),
            sa.func.count().filter(StewardTask.due_on < today),
            sa.func.count().filter(StewardTask.due_on == today),
        )
        .where(StewardTask.status == status)
        .group_by(StewardTask.task_type, StewardTask.rule)
    ).all()
    groups = sorted(
        (TaskGroup(task_type, rule, int(tasks)) for task_type, rule, tasks, _, _ in rows),
        key=lambda g: (-g.tasks, g.task_type, g.rule or ""),
    )
    return Overview(groups, sum(int(r[3]) for r in rows), sum(int(r[4]) for r in rows))


@dataclass(frozen=True)
class Today:
    """What matters most today, the queue's first line: open tasks past their due date and
    due today, and the user's own open work (and how much of it is late)."""

    overdue: int
    due_today: int
    mine: int
    mine_overdue: int


def today_summary(
    session: Session, *, user: str, overview: Overview | None = None, today: dt.date | None = None
) -> Today:
    """From the open tasks' overview (read when not given) and the user's own work
    (ix_steward_task_assigned)."""
    today = today or dt.date.today()
    overview = overview or task_overview(session, today=today)
    mine = sa.select(sa.func.count(), sa.func.count().filter(StewardTask.due_on < today)).where(
        StewardTask.status == "open", StewardTask.assigned_to == user
    )
    assigned, late = session.execute(mine).one()
    return Today(overview.overdue, overview.due_today, int(assigned), int(late))


def task_ids(session: Session, *, where: TaskFilter) -> list[int]:
    """Every task the filter selects, oldest first: what a bulk action works on."""
    query = _filtered(sa.select(StewardTask.task_id), where)
    return list(session.execute(query.order_by(StewardTask.task_id)).scalars())


def channels_with_tasks(session: Session, *, status: str = "open") -> list[str]:
    """The channels that have tasks of this status.

    A loose index scan (one seek per channel on ix_steward_task_channel) instead of DISTINCT,
    which would read all 100,000 open tasks on every queue page.
    """
    table = StewardTask.__table__
    walk = (
        sa.select(sa.func.min(table.c.source_system).label("name"))
        .where(table.c.status == status)
        .cte("walk", recursive=True)
    )
    following = (
        sa.select(sa.func.min(table.c.source_system))
        .where(table.c.status == status, table.c.source_system > walk.c.name)
        .scalar_subquery()
    )
    walk = walk.union_all(sa.select(following).where(walk.c.name.is_not(None)))
    names = session.execute(sa.select(walk.c.name).where(walk.c.name.is_not(None))).scalars()
    return list(names)


def get_task(session: Session, *, task_id: int) -> StewardTask:
    task = session.get(StewardTask, task_id)
    if task is None:
        raise ReviewError(f"there is no task {task_id}")
    return task


def get_customer(session: Session, *, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise ReviewError(f"there is no customer {customer_id}")
    return customer


def source_records(session: Session, *, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored standardized records by record_key, in the order asked."""
    found: dict[str, dict[str, Any]] = {}
    for key in keys:
        system, record_id = split_record_key(key)
        row = session.get(SourceRecord, (system, record_id))
        if row is not None:
            found[key] = row.record
    return found


def customer_records(session: Session, *, customer_id: str) -> list[str]:
    rows = session.execute(
        sa.select(CustomerXref.source_system, CustomerXref.source_record_id)
        .where(CustomerXref.customer_id == customer_id)
        .order_by(CustomerXref.source_system, CustomerXref.source_record_id)
    ).all()
    return [record_key(system, record_id) for system, record_id in rows]


def decisions_about(session: Session, *, customer_id: str) -> list[StewardDecision]:
    """The audit trail of a customer: decisions on it and on its tasks, newest first."""
    task_ids = sa.select(StewardTask.task_id).where(StewardTask.customer_id == customer_id)
    decisions = session.execute(
        sa.select(StewardDecision)
        .where(StewardDecision.task_id.in_(task_ids) | StewardDecision.task_id.is_(None))
        .order_by(StewardDecision.decision_id.desc())
    ).scalars()
    return [
        d
        for d in decisions
        if d.task_id is not None or (d.subject or {}).get("customer_id") == customer_id
    ]


def decisions_of_task(session: Session, *, task_id: int) -> list[StewardDecision]:
    return list(
        session.execute(
            sa.select(StewardDecision)
            .where(StewardDecision.task_id == task_id)
            .order_by(StewardDecision.decision_id)
        ).scalars()
    )
