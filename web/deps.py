"""What every route needs: a warehouse session, the signed-in user with a role, a CSRF check,
and rendering a template with the user and the CSRF token in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from mdm.masking import SENSITIVE_FIELDS, mask_value
from web.auth import SignedIn, same_token, signed_in

SESSION_COOKIE = "mdm_session"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["mask"] = lambda value, field: mask_value(field, value)
templates.env.globals["SENSITIVE_FIELDS"] = SENSITIVE_FIELDS
templates.env.globals["days_since"] = lambda moment: (
    (dt.datetime.now(dt.UTC) - (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))).days
)


class NotSignedIn(Exception):
    """No live session: pages redirect to the login form."""


def db(request: Request) -> Iterator[Session]:
    """A session per request; routes that change something commit it themselves."""
    with Session(request.app.state.engine) as session:
        yield session


def current_user(request: Request) -> SignedIn:
    with Session(request.app.state.engine) as session, session.begin():
        user = signed_in(
            session,
            token=request.cookies.get(SESSION_COOKIE),
            idle=dt.timedelta(minutes=request.app.state.idle_minutes),
        )
    if user is None:
        raise NotSignedIn
    return user


async def acting_user(request: Request, role: str, user: SignedIn) -> SignedIn:
    """The user, if their role allows the change and the form carries their CSRF token."""
    if not user.can(role):
        raise HTTPException(status_code=403, detail=f"this needs the {role} role")
    form = await request.form()
    if not same_token(user.csrf_token, str(form.get("csrf_token") or "")):
        raise HTTPException(status_code=403, detail="the form has expired; reload the page")
    return user


async def steward(request: Request, user: Annotated[SignedIn, Depends(current_user)]) -> SignedIn:
    return await acting_user(request, "steward", user)


async def admin(request: Request, user: Annotated[SignedIn, Depends(current_user)]) -> SignedIn:
    return await acting_user(request, "admin", user)


def render(
    request: Request, name: str, user: SignedIn | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"user": user, **context}, status_code=status_code
    )


Db = Annotated[Session, Depends(db)]
Viewer = Annotated[SignedIn, Depends(current_user)]
Steward = Annotated[SignedIn, Depends(steward)]
Admin = Annotated[SignedIn, Depends(admin)]
