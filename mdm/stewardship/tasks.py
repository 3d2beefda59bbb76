"""The shape of a steward task as a run raises it (`new_task`), with a key that names the task's
evidence so that a re-run never opens it twice. mdm/stewardship/run_tasks.py builds the
matching, survivorship and validation tasks with it, mdm/segments/compliance.py the compliance
ones; `route_tasks` gives them their due dates and compliance ones their manager once the
run knows every customer's tier."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

TASK_TYPES = ("possible_match", "conflict", "incomplete", "invalid", "compliance", "merge_audit")
# tasks about two records that a steward answers "same person" or "not the same": a possible
# match (kept apart until confirmed) and an audited automatic merge (merged until rejected)
PAIR_TASK_TYPES = ("possible_match", "merge_audit")
# days to decide a task by its priority (1 highest; any other: 30); a compliance deadline or a
# diamond customer's conflict is priority 1
DUE_DAYS = {1: 3, 2: 7, 3: 14}
# the value tiers whose customers' tasks are due in half the days (SPEC §6's top tiers)
FIRST_TIERS = frozenset({"diamond", "platinum"})
TASK_KEY_LIMIT = 200  # longer keys are shortened to a head and a digest (the column holds 300)


def task_key(*parts: Any) -> str:
    """The parts joined by ':'; a long key keeps its head and a digest of the whole."""
    text = ":".join(str(part) for part in parts)
    if len(text) <= TASK_KEY_LIMIT:
        return text
    return text[:150] + ":" + hashlib.sha256(text.encode()).hexdigest()[:32]


def task_rule(task_type: str, details: dict[str, Any]) -> str:
    """What a task is about within its type, for grouping the queue: the rule that raised it,
    the field a conflict's sources disagree on, or the type itself."""
    if details.get("rule"):
        return str(details["rule"])[:64]
    if task_type == "conflict" and details.get("field"):
        return f"{details['field']}_disagrees"
    return task_type


def due_on(
    priority: int,
    opened: dt.date,
    *,
    tier: str | None = None,
    deadline: dt.date | None = None,
) -> dt.date:
    """The day a task is due: its priority's days after it was opened (DUE_DAYS), half of them
    (at least one) for a customer of a first tier (FIRST_TIERS); a deadline the task reports
    (a compliance expiry) that falls sooner wins, and one already past makes the task due the
    day it is opened: it is late from then on."""
    days = DUE_DAYS.get(priority, 30)
    if tier in FIRST_TIERS:
        days = max(1, days // 2)
    due = opened + dt.timedelta(days=days)
    if deadline is not None:
        due = min(due, max(deadline, opened))
    return due


def task_deadline(details: dict[str, Any]) -> dt.date | None:
    """The deadline a task's details report (``deadline``, an ISO date), if any."""
    text = details.get("deadline")
    return dt.date.fromisoformat(str(text)) if text else None


def route_tasks(
    tasks: Sequence[dict[str, Any]],
    *,
    tiers: Mapping[str, str],
    managers: Mapping[str, str],
    opened: dt.date,
) -> list[dict[str, Any]]:
    """A run's new tasks with their due dates from priority, the customer's value tier
    (``tiers``: customer id to tier) and any deadline; a compliance task goes to the
    relationship manager who owns its customer (``managers``; SPEC §5), as its `assigned_to`.
    Only tasks the run opens are routed: the load never touches an existing task, so a
    steward's reassignment holds."""
    routed = []
    for task in tasks:
        customer = task.get("customer_id")
        due = due_on(
            task["priority"],
            opened,
            tier=tiers.get(customer) if customer else None,
            deadline=task_deadline(task["details"]),
        )
        owner = task.get("assigned_to")
        if task["task_type"] == "compliance" and customer and not owner:
            owner = managers.get(customer) or None
        routed.append({**task, "due_on": due, "assigned_to": owner})
    return routed


def new_task(
    task_type: str,
    *,
    key: Sequence[Any],
    priority: int,
    details: dict[str, Any],
    customer_id: str | None = None,
    source_system: str | None = None,
) -> dict[str, Any]:
    """A task as the load opens it (`steward_task` without status and timestamps); ``key``:
    the evidence after the type, e.g. the two record keys of a possible match."""
    assert task_type in TASK_TYPES, task_type
    return {
        "task_key": task_key(task_type, *key),
        "task_type": task_type,
        "priority": priority,
        "customer_id": customer_id,
        "source_system": source_system,
        "details": details,
        "rule": task_rule(task_type, details),
        "due_on": due_on(priority, dt.date.today(), deadline=task_deadline(details)),
        "assigned_to": None,  # a compliance task: its customer's manager (route_tasks)
    }
