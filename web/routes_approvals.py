"""Four eyes: the changes waiting for a second steward, who approves or rejects them
(mdm/stewardship/approvals.py). The maker of a change cannot check it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mdm.masking import mask_value
from mdm.stewardship import approvals
from warehouse.models import PendingChange
from web.deps import Db, Steward, Viewer, render

router = APIRouter()


def described(change: PendingChange) -> list[str]:
    """Each decision of a change in a line, its value masked where it is an identifier."""
    lines = []
    for d in change.arguments.get("decisions", []):
        what = f"task {d['task_id']}: {d['action']}"
        if d.get("field"):
            what += f" {d['field']} = {mask_value(d['field'], d.get('value'))}"
        if d.get("records"):
            what += f" records {', '.join(d['records'])}"
        lines.append(what)
    return lines


@router.get("/approvals", response_class=HTMLResponse)
def pending(request: Request, session: Db, user: Viewer) -> Response:
    changes = approvals.pending_changes(session)
    return render(request, "approvals.html", user, changes=[(c, described(c)) for c in changes])


@router.post("/approvals/{change_id}/approve")
def approve(
    session: Db,
    user: Steward,
    change_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    approvals.approve(session, change_id=change_id, by=user.username, reason=reason)
    session.commit()
    return RedirectResponse("/approvals", status_code=303)


@router.post("/approvals/{change_id}/reject")
def reject(
    session: Db,
    user: Steward,
    change_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    approvals.reject(session, change_id=change_id, by=user.username, reason=reason)
    session.commit()
    return RedirectResponse("/approvals", status_code=303)
