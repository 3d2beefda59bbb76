"""`mdm segments list` and `mdm export campaign NAME`: segments for managers and campaign tools.

Both print counts only; the export file is the one place contact data leaves the warehouse.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from mdm.cli.common import WarehouseOption, guarded, migrated_url, warehouse_session
from mdm.errors import MdmError

app = typer.Typer(no_args_is_help=True, help="Segments of the golden customers.")
export_app = typer.Typer(no_args_is_help=True, help="Export lists for other tools.")


@app.command("list")
def list_segments(warehouse: WarehouseOption = None) -> None:
    """Active customers per segment type and value."""

    def body() -> None:
        from warehouse.segment_reads import segment_counts

        with warehouse_session(warehouse) as session:
            counts = segment_counts(session)
        if counts.empty:
            typer.echo("no segments yet (run `mdm run` first)")
            return
        for segment_type, group in counts.groupby("segment_type", sort=True):
            typer.echo(f"{segment_type}:")
            for value, customers in zip(group["segment_value"], group["customers"], strict=True):
                typer.echo(f"  {value:<24} {customers:>9,}")

    guarded(body)


@app.command("refresh")
def refresh_segments(
    as_of: Annotated[
        dt.datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="the date to bring them to (today)"),
    ] = None,
    segments_file: Annotated[
        Path | None,
        typer.Option("--segments", help="segments.yaml of the runs (default: shipped rules)"),
    ] = None,
    wait: Annotated[float, typer.Option("--wait", help="seconds to wait for a run")] = 300.0,
    warehouse: WarehouseOption = None,
) -> None:
    """Bring the segments that move with the calendar (ages, contact dates) to a later date,
    without a run (docs/segments.md)."""

    def body() -> None:
        from sqlalchemy.orm import Session

        from mdm.segments.config import load_segment_rules
        from warehouse.db import create_warehouse_engine
        from warehouse.lock import warehouse_lock
        from warehouse.segment_refresh import refresh_calendar_segments, segments_as_of

        rules = load_segment_rules(segments_file)
        date = as_of.date() if as_of else dt.date.today()
        engine = create_warehouse_engine(migrated_url(warehouse))
        try:
            with (
                warehouse_lock(engine, wait_seconds=wait) as held,
                Session(engine) as session,
                session.begin(),
            ):
                if segments_as_of(session) is None:
                    raise MdmError("the segments have no date yet (run `mdm run` first)")
                done = refresh_calendar_segments(session, rules=rules, as_of=date)
                held.check(session.connection())
        finally:
            engine.dispose()
        if done.before is not None and done.after == done.before and date <= done.before:
            typer.echo(f"segments are as of {done.before}: nothing to bring to {date}")
            return
        typer.echo(
            f"segments brought from {done.before} to {done.after}: {done.customers_aged:,}"
            f" customers aged, {done.segment_changes:,} segment changes,"
            f" {done.contacts_due:,} contact dates moved"
        )

    guarded(body)


def national_mobile(mobile: Any) -> Any:
    """+8613812345678 → 13812345678: what a Chinese dialer takes, and a cell Excel keeps as text
    without the apostrophe a leading '+' would need. Other numbers stay in E.164."""
    if isinstance(mobile, str) and mobile.startswith("+86"):
        return mobile.removeprefix("+86")
    return mobile


@export_app.command("campaign")
def export_campaign(
    name: Annotated[str, typer.Argument(help="wealth_products, fund_sip, bond_funds, …")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (UTF-8 with BOM)")],
    warehouse: WarehouseOption = None,
) -> None:
    """The customers on a campaign list, with the mobile to call (see docs/segments.md)."""

    def body() -> None:
        from mdm.segments.export import write_excel_csv
        from mdm.segments.rules import CAMPAIGNS
        from warehouse.segment_reads import CAMPAIGN_EXPORT_COLUMNS, campaign_members

        if name not in CAMPAIGNS:
            raise MdmError(f"unknown campaign '{name}' (known: {', '.join(CAMPAIGNS)})")
        with warehouse_session(warehouse) as session:
            members = campaign_members(session, campaign=name)
        members["mobile"] = members["mobile"].map(national_mobile)
        try:
            written = write_excel_csv(
                out, CAMPAIGN_EXPORT_COLUMNS, members.itertuples(index=False, name=None)
            )
        except OSError as exc:
            raise MdmError(f"{out}: cannot write ({exc.strerror})") from exc
        typer.echo(f"exported {written:,} customers on campaign {name} to {out}")

    guarded(body)
