"""The shape of a steward task as a run raises it (`new_task`), with a key that names the task's
evidence so that a re-run never opens it twice. mdm/stewardship/run_tasks.py builds the
matching, survivorship and validation tasks with it, mdm/segments/compliance.py the compliance
ones."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

TASK_TYPES = ("possible_match", "conflict", "incomplete", "invalid", "compliance")
TASK_KEY_LIMIT = 200  # longer keys are shortened to a head and a digest (the column holds 300)


def task_key(*parts: Any) -> str:
    """The parts joined by ':'; a long key keeps its head and a digest of the whole."""
    text = ":".join(str(part) for part in parts)
    if len(text) <= TASK_KEY_LIMIT:
        return text
    return text[:150] + ":" + hashlib.sha256(text.encode()).hexdigest()[:32]


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
    }
