"""The queue: open tasks by type, priority, channel and age, oldest first, a page at a time."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mdm.stewardship import actions, approvals
from mdm.stewardship.queue import (
    DUE_WHEN,
    STATUSES,
    ReviewError,
    TaskFilter,
    channels_with_tasks,
    count_tasks,
    identifier_search,
    list_tasks,
    task_groups,
    task_ids,
    task_overview,
    today_summary,
)
from mdm.stewardship.tasks import PAIR_TASK_TYPES, TASK_TYPES
from warehouse.models import Customer, StewardTask
from web.deps import Db, Steward, Viewer, render
from web.limits import SearchLimit

router = APIRouter()
PAGE_SIZE = 50
GROUPS_SHOWN = 12


def summary(task: StewardTask) -> str:
    """One line about the task, without personal identifiers."""
    details: dict[str, Any] = task.details
    if task.task_type in PAIR_TASK_TYPES:
        return f"{details['left']} ↔ {details['right']} ({details['match_probability']:.0%})"
    if task.task_type == "conflict":
        return f"{details['field']}: {len(details['values'])} different values"
    return str(details.get("message") or details.get("rule") or "")


def _audit_identifier_search(session: Session, text: str, *, by: str, limit: SearchLimit) -> None:
    """Record every search by phone or ID number, and refuse (recorded too) a partial one;
    over the user's cap per minute, a 429 (web/limits.py)."""
    try:
        identifier = identifier_search(text)
    except ReviewError:
        actions.audit_search(session, field="identifier", by=by, refused=True)
        session.commit()
        raise
    if identifier is not None and (wait := limit.wait_seconds(by)):
        raise HTTPException(
            status_code=429,
            detail=f"too many searches by phone or ID number; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    if identifier is not None:
        actions.audit_search(session, field=identifier[0], by=by)
        session.commit()


@router.get("/", response_class=HTMLResponse)
def queue(
    request: Request,
    session: Db,
    user: Viewer,
    task_type: Annotated[str | None, Query(alias="type")] = None,
    status: str = "open",
    channel: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: str = "age",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    branch: Annotated[str | None, Query(max_length=64)] = None,
    rm: Annotated[str | None, Query(max_length=100)] = None,
    assigned: Annotated[str | None, Query(max_length=100)] = None,
    due: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    _audit_identifier_search(
        session, q or "", by=user.username, limit=request.app.state.search_limit
    )
    where = TaskFilter(
        task_type=task_type if task_type in TASK_TYPES else None,
        status=status if status in STATUSES else "open",
        channel=channel or None,
        search=q,
        rule=rule or None,
        branch=branch or None,
        relationship_manager=rm or None,
        assigned_to=assigned or None,
        due=due if due in DUE_WHEN else None,
    )
    # one pass for the counts per type, the groups and what is late (task_overview)
    overview = task_overview(session, status=where.status)
    counts = overview.counts_by_type()
    narrowed = (
        where.rule or where.branch or where.relationship_manager or where.assigned_to or where.due
    )
    owners = TaskFilter(
        status=where.status,
        branch=where.branch,
        relationship_manager=where.relationship_manager,
        assigned_to=where.assigned_to,
    )
    everyone = owners == TaskFilter(status=where.status)
    groups = overview.groups if everyone else task_groups(session, where=owners)
    if where == owners:  # the groups hold the answer: spare a second pass
        total = sum(group.tasks for group in groups)
    elif where in (TaskFilter(due="overdue"), TaskFilter(due="today")):  # so does the overview
        total = overview.overdue if where.due == "overdue" else overview.due_today
    elif where.channel or where.search or narrowed:
        total = count_tasks(session, where=where)
    else:  # the counts per type already hold the answer: spare a second pass over the index
        total = counts.get(where.task_type, 0) if where.task_type else sum(counts.values())
    tasks = list_tasks(
        session,
        where=where,
        by_priority=sort == "priority",
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    ids = {task.customer_id for task in tasks if task.customer_id}
    customers = {
        row.customer_id: row
        for row in session.execute(
            sa.select(Customer.customer_id, Customer.full_name, Customer.mobile).where(
                Customer.customer_id.in_(ids)
            )
        )
    }
    return render(
        request,
        "queue.html",
        user,
        tasks=tasks,
        customers=customers,
        summary=summary,
        counts=counts,
        total=total,
        where=where,
        sort=sort,
        page=page,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        channels=channels_with_tasks(session, status=where.status),
        groups=groups[:GROUPS_SHOWN],
        task_types=TASK_TYPES,
        today=today_summary(
            session, user=user.username, overview=overview if where.status == "open" else None
        ),
        today_date=dt.date.today(),
        now=dt.datetime.now(dt.UTC),
    )


BULK_ACTIONS = {"dismiss": "dismiss", "not_a_match": "not_a_match", "confirm": "confirm_match"}


@router.post("/bulk")
def bulk(
    session: Db,
    user: Steward,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()],
    task_type: Annotated[str, Form()] = "",
    rule: Annotated[str, Form()] = "",
    branch: Annotated[str, Form()] = "",
    rm: Annotated[str, Form()] = "",
    assigned: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "",
    due: Annotated[str, Form()] = "",
) -> Response:
    """Decide every open task of the filtered set, each audited on its own; a set over
    MDM_FOUR_EYES_BULK waits for a second steward (the Approvals page)."""
    if action not in BULK_ACTIONS:
        raise ReviewError(f"unknown bulk action '{action}'")
    where = TaskFilter(
        task_type=task_type or None,
        rule=rule or None,
        branch=branch or None,
        relationship_manager=rm or None,
        assigned_to=assigned or None,
        channel=channel or None,
        due=due if due in DUE_WHEN else None,
    )
    if due and where.due is None:
        raise ReviewError(f"unknown due filter '{due}': overdue or today")
    if where == TaskFilter():
        raise ReviewError("a bulk action needs a filter: a type, rule, branch or manager")
    requests = [
        approvals.Request(task_id, BULK_ACTIONS[action], reason)
        for task_id in task_ids(session, where=where)
    ]
    outcome = approvals.decide_many(
        session, requests, by=user.username, rules=approvals.FourEyes.configured()
    )
    session.commit()
    return RedirectResponse("/approvals" if outcome.pending else "/", status_code=303)
