"""A task: the records side by side with their differences, why they matched, the golden record
that would result, and the steward's actions (each through mdm/stewardship/actions.py)."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mdm.matching.survive import survive
from mdm.schema import GOLDEN_FIELDS
from mdm.stewardship import actions, approvals, queue
from mdm.stewardship.explain import explain_parts
from mdm.stewardship.tasks import PAIR_TASK_TYPES
from warehouse.models import Customer, StewardTask
from warehouse.state import records_from_json
from warehouse.values import column_value, json_ready
from web.deps import Db, Steward, Viewer, render

router = APIRouter()
Revealed = dict[tuple[str, str], Any]


def involved_records(session: Session, task: StewardTask) -> dict[str, dict[str, Any]]:
    """The source records a steward compares for this task."""
    details = task.details
    if task.task_type in PAIR_TASK_TYPES:
        keys = [details["left"], details["right"]]
    else:
        keys = queue.customer_records(session, customer_id=task.customer_id or "")
        if "record" in details and details["record"] not in keys:
            keys.insert(0, details["record"])
    return queue.source_records(session, keys=keys)


def differing_fields(records: dict[str, dict[str, Any]]) -> list[str]:
    return [
        name
        for name in GOLDEN_FIELDS
        if len({str(r.get(name)) for r in records.values() if r.get(name) is not None}) > 1
    ]


def merged_preview(session: Session, task: StewardTask) -> dict[str, Any] | None:
    """The golden record the two customers of a possible match would make together."""
    details = task.details
    keys = [
        key
        for side in ("left_customer_id", "right_customer_id")
        for key in queue.customer_records(session, customer_id=details.get(side) or "")
    ]
    stored = queue.source_records(session, keys=keys or [details["left"], details["right"]])
    if not stored:
        return None
    frame = records_from_json(list(stored.values()))
    golden, _ = survive(frame, pd.Series("merged", index=frame.index))
    return {
        name: column_value(name, json_ready(value))
        for name, value in golden.iloc[0].to_dict().items()
    }


def task_page(
    request: Request, session: Session, user: Any, task_id: int, revealed: Revealed | None = None
) -> HTMLResponse:
    task = queue.get_task(session, task_id=task_id)
    records = involved_records(session, task)
    customer = session.get(Customer, task.customer_id) if task.customer_id else None
    reasons = []
    golden: dict[str, Any] | None = None
    if task.task_type in PAIR_TASK_TYPES:
        left, right = (records.get(task.details[side], {}) for side in ("left", "right"))
        reasons = explain_parts(task.details.get("parts", {}), left, right)
    if task.task_type == "possible_match":
        golden = merged_preview(session, task)
    elif customer is not None:
        golden = {name: json_ready(getattr(customer, name)) for name in GOLDEN_FIELDS}
    shown = [n for n in GOLDEN_FIELDS if any(r.get(n) is not None for r in records.values())]
    return render(
        request,
        "task.html",
        user,
        task=task,
        records=records,
        fields=shown,
        differs=set(differing_fields(records)),
        reasons=reasons,
        golden=golden,
        customer=customer,
        decisions=queue.decisions_of_task(session, task_id=task_id),
        revealed=revealed or {},
        golden_fields=GOLDEN_FIELDS,
        pair_types=PAIR_TASK_TYPES,
    )


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def show_task(request: Request, session: Db, user: Viewer, task_id: int) -> HTMLResponse:
    return task_page(request, session, user, task_id)


@router.post("/tasks/{task_id}/reveal", response_class=HTMLResponse)
def reveal(
    request: Request,
    session: Db,
    user: Steward,
    task_id: int,
    record: Annotated[str, Form()],
    field: Annotated[str, Form()],
) -> HTMLResponse:
    """One field of one of the records this task compares, and only of those."""
    task = queue.get_task(session, task_id=task_id)
    if record not in involved_records(session, task):
        raise queue.ReviewError(f"{record} is not a record of task {task_id}")
    value = actions.reveal_field(session, field=field, record=record, by=user.username, task=task)
    session.commit()
    return task_page(request, session, user, task_id, revealed={(record, field): value})


# the form's action words, to the steward_decision action each runs
FORM_ACTIONS = {
    "confirm": "confirm_match",
    "not_a_match": "not_a_match",
    "dismiss": "dismiss",
    "split": "split_customer",
    "choose": "choose_value",
    "correct": "correct_value",
}


@router.post("/tasks/{task_id}/decide")
def decide(
    session: Db,
    user: Steward,
    task_id: int,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    field: Annotated[str, Form()] = "",
    value: Annotated[str, Form()] = "",
    records: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Decide, or hold the decision for a second steward when it is risky (four eyes)."""
    if action not in FORM_ACTIONS:
        raise queue.ReviewError(f"unknown action '{action}'")
    request = approvals.Request(
        task_id, FORM_ACTIONS[action], reason, field or None, value, tuple(records or ())
    )
    approvals.decide(session, request, by=user.username, rules=approvals.FourEyes.configured())
    session.commit()
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)
