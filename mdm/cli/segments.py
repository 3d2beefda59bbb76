"""`mdm segments list` and `mdm export campaign NAME`: segments for managers and campaign tools.

Both print counts only; the export file is the one place contact data leaves the warehouse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mdm.cli.common import WarehouseOption, guarded, warehouse_session
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
