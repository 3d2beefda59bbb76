"""The workbench application: routes, the login redirect, and headers that keep customer data
out of caches and frames."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response

from mdm.stewardship.queue import ReviewError
from warehouse.db import create_warehouse_engine
from web import (
    routes_approvals,
    routes_auth,
    routes_customers,
    routes_queue,
    routes_runs,
    routes_tasks,
    routes_users,
)
from web.deps import NotSignedIn, current_user, render
from web.limits import SearchLimit

MAX_QUERY_LENGTH = 2_000  # characters of a URL's path or query string

SECURITY_HEADERS = {
    "Cache-Control": "no-store",  # pages hold customer data: no browser or proxy keeps a copy
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(
    warehouse_url: str, *, idle_minutes: int = 30, secure_cookies: bool = False
) -> FastAPI:
    """The workbench over the warehouse at `warehouse_url` (its schema must be up to date).

    Sessions end after `idle_minutes` without a request; `secure_cookies` sends the session
    cookie over HTTPS only (set it whenever the workbench is not on localhost).
    """
    app = FastAPI(title="customer-mdm workbench", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = create_warehouse_engine(warehouse_url)
    app.state.idle_minutes = idle_minutes
    app.state.secure_cookies = secure_cookies
    app.state.search_limit = SearchLimit()
    for module in (
        routes_auth,
        routes_queue,
        routes_tasks,
        routes_customers,
        routes_approvals,
        routes_runs,
        routes_users,
    ):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(NotSignedIn)
    async def to_login(request: Request, exc: NotSignedIn) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(ReviewError)
    async def review_error(request: Request, exc: ReviewError) -> Response:
        return render(request, "error.html", current_user(request), 400, message=str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        response = render(request, "error.html", None, exc.status_code, message=str(exc.detail))
        response.headers.update(exc.headers or {})  # Retry-After of a 429
        return response

    # A parameter out of bounds (a 100,000-character search, page 10^20, an id no column can
    # hold) is the request's fault: 400 naming the parameter, never its value, never a 500.
    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        names = sorted({str(error["loc"][-1]) for error in exc.errors() if error.get("loc")})
        message = f"bad request: {', '.join(names) or 'a parameter'} is out of range or too long"
        return render(request, "error.html", None, 400, message=message)

    @app.exception_handler(OverflowError)
    async def overflow(request: Request, exc: OverflowError) -> Response:
        return render(request, "error.html", None, 400, message="bad request: a number is too big")

    @app.exception_handler(sa.exc.DataError)
    async def data_error(request: Request, exc: sa.exc.DataError) -> Response:
        return render(
            request, "error.html", None, 400, message="bad request: a value is out of range"
        )

    @app.middleware("http")
    async def bounded_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if len(request.url.query) > MAX_QUERY_LENGTH or len(request.url.path) > MAX_QUERY_LENGTH:
            return render(
                request, "error.html", None, 400, message="bad request: the address is too long"
            )
        return await call_next(request)

    return app
