"""The shape of a steward task as a run raises it (`new_task`), with a key that names the task's
evidence so that a re-run never opens it twice. mdm/stewardship/run_tasks.py builds the
matching, survivorship and validation tasks with it, mdm/segments/compliance.py the compliance
ones."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

TASK_TYPES = ("possible_match", "conflict", "incomplete", "invalid", "compliance", "merge_audit")
# tasks about two records that a steward answers "same person" or "not the same": a possible
# match (kept apart until confirmed) and an audited automatic merge (merged until rejected)
PAIR_TASK_TYPES = ("possible_match", "merge_audit")
# days to decide a task by its priority (1 highest); a compliance deadline or a diamond
# customer's conflict is priority 1
DUE_DAYS = {1: 3, 2: 7, 3: 14}
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


def due_on(priority: int, opened: dt.date) -> dt.date:
    return opened + dt.timedelta(days=DUE_DAYS.get(priority, 30))


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
        "due_on": due_on(priority, dt.date.today()),
    }
