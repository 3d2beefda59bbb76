"""Admins manage who may sign in, and with which role."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mdm.errors import MdmError
from warehouse.models import WorkbenchUser
from web.auth import ROLES, add_user
from web.deps import Admin, Db, Viewer, render

router = APIRouter()


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, session: Db, user: Viewer, error: str | None = None) -> Response:
    if not user.can("admin"):
        raise HTTPException(status_code=403, detail="this needs the admin role")
    people = session.execute(sa.select(WorkbenchUser).order_by(WorkbenchUser.username)).scalars()
    return render(request, "users.html", user, people=people, roles=ROLES, error=error)


@router.post("/users")
def create_user(
    request: Request,
    session: Db,
    user: Admin,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
) -> Response:
    try:
        add_user(session, username=username, password=password, role=role)
    except MdmError as exc:
        return users(request, session, user, error=str(exc))
    session.commit()
    return RedirectResponse("/users", status_code=303)
