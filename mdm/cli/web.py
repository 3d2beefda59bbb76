"""`mdm serve` (the steward workbench) and `mdm users` (who may sign in to it)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mdm.cli.common import WarehouseOption, guarded, migrated_url, use_warehouse
from mdm.errors import MdmError

users_app = typer.Typer(no_args_is_help=True, help="Workbench users: viewer, steward, admin.")


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option(help="viewer | steward | admin")] = "steward",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    warehouse: WarehouseOption = None,
) -> None:
    """Add a user, or give an existing one a new password and role (ends their sessions)."""

    def body() -> None:
        from sqlalchemy.orm import Session

        from warehouse.db import create_warehouse_engine
        from web.auth import add_user

        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        engine = create_warehouse_engine(migrated_url(warehouse))
        try:
            with Session(engine) as session, session.begin():
                add_user(session, username=name, password=password, role=role)
        finally:
            engine.dispose()
        typer.echo(f"user {name} ({role}) saved")

    guarded(body)


@users_app.command("unlock")
def unlock(
    name: Annotated[str, typer.Argument(help="user name whose sign-in is locked")],
    by: Annotated[str, typer.Option("--by", help="who unlocks it (for the audit trail)")],
    client: Annotated[
        str | None, typer.Option("--client", help="also unlock this client address")
    ] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """End a sign-in lock before it runs out (after repeated wrong passwords); audited."""

    def body() -> None:
        from sqlalchemy.orm import Session

        from warehouse.db import create_warehouse_engine
        from web.auth import unlock_sign_in

        engine = create_warehouse_engine(migrated_url(warehouse))
        try:
            with Session(engine) as session, session.begin():
                cleared = unlock_sign_in(session, username=name, client=client, by=by)
        finally:
            engine.dispose()
        typer.echo(f"sign-in of {name} unlocked ({cleared} lock(s) cleared)")

    guarded(body)


def serve(
    warehouse: WarehouseOption = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    idle_minutes: Annotated[int, typer.Option(min=1, help="sign out after idle minutes")] = 30,
    secure_cookies: Annotated[
        bool, typer.Option(help="session cookie over HTTPS only (behind a TLS proxy)")
    ] = False,
    sources: Annotated[
        Path | None,
        typer.Option(
            "--sources", help="serve the pipeline on SOURCES on a schedule instead (flow.serve)"
        ),
    ] = None,
    cron: Annotated[
        str | None, typer.Option(help='with --sources: when to run, e.g. "0 2 * * *"')
    ] = None,
    interval: Annotated[
        float | None, typer.Option(min=1, help="with --sources: run every N seconds")
    ] = None,
    name: Annotated[str, typer.Option(help="with --sources: the deployment's name")] = "mdm-serve",
) -> None:
    """Start the steward workbench (sign in with a user from `mdm users add`); with --sources,
    serve the pipeline flow on a schedule on this machine instead."""
    if sources is not None:
        guarded(lambda: serve_pipeline(sources, warehouse, cron=cron, interval=interval, name=name))
        return
    if cron is not None or interval is not None:
        guarded(_needs_sources)

    def body() -> None:
        import uvicorn

        from web.app import create_app

        url = migrated_url(warehouse)
        if host not in ("127.0.0.1", "localhost", "::1") and not secure_cookies:
            raise MdmError("serving beyond localhost needs --secure-cookies behind HTTPS")
        app = create_app(url, idle_minutes=idle_minutes, secure_cookies=secure_cookies)
        uvicorn.run(app, host=host, port=port, log_level="warning")

    guarded(body)


def _needs_sources() -> None:
    raise MdmError("--cron and --interval schedule the pipeline: give --sources DIR too")


def serve_pipeline(
    sources: Path,
    warehouse: str | None,
    *,
    cron: str | None,
    interval: float | None,
    name: str,
) -> None:
    """flow.serve for a single box: this process polls Prefect and runs the pipeline on SOURCES
    at each scheduled time, until Ctrl-C. The warehouse URL stays in this process's environment
    (never a deployment parameter)."""
    if (cron is None) == (interval is None):
        raise MdmError('give one schedule: --cron "0 2 * * *" or --interval SECONDS')
    use_warehouse(warehouse)  # into MDM_WAREHOUSE_URL, which the served runs inherit
    from mdm.channels.config import load_channels

    load_channels(sources)  # a configuration mistake answers now, not at 02:00
    from flows.pipeline import RunSettings, pipeline_flow

    settings = RunSettings(sources_dir=sources.resolve())
    pipeline_flow.serve(
        name=name,
        cron=cron,
        interval=interval,
        parameters={"settings": settings.model_dump(mode="json")},
    )


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(users_app, name="users")
