"""Signing in and out. The login form has its own CSRF token (a cookie it must match), because
there is no session yet to hold one."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from web.auth import SignInLocked, same_token, sign_in, sign_out
from web.deps import SESSION_COOKIE, Db, Viewer, render

router = APIRouter()
LOGIN_CSRF_COOKIE = "mdm_login_csrf"


def _login_form(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", None, status_code, csrf_token=token, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.secure_cookies,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return _login_form(request)


@router.post("/login")
def login(
    request: Request,
    session: Db,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        return _login_form(
            request, error="The form expired; please sign in again.", status_code=403
        )
    client = request.client.host if request.client else ""
    try:
        token = sign_in(session, username=username, password=password, client=client)
    except SignInLocked as locked:
        session.commit()  # the audit of the refused attempt
        response = _login_form(request, error=f"{str(locked).capitalize()}.", status_code=429)
        response.headers["Retry-After"] = str(locked.retry_after.seconds + 1)
        return response
    session.commit()  # the session, or the counted failure
    if token is None:
        return _login_form(request, error="Wrong user name or password.", status_code=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, session: Db, user: Viewer) -> Response:
    form = await request.form()
    if same_token(user.csrf_token, str(form.get("csrf_token") or "")):
        sign_out(session, token=request.cookies.get(SESSION_COOKIE, ""))
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
