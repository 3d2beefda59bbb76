"""`mdm what-if`: what other thresholds would do, from the last run's stored scores."""

from __future__ import annotations

from typing import Annotated

import typer

from mdm.cli.common import WarehouseOption, guarded, warehouse_session
from mdm.errors import MdmError
from mdm.matching.whatif import WhatIf, what_if


def format_what_if(result: WhatIf, *, run: str) -> str:
    """The what-if as a few lines: merges and tasks now and then, what moves."""
    scope = "every pair" if result.matched_all else "only the pairs of its new and changed records"
    return "\n".join(
        [
            f"what-if on run {run} ({scope}): upper {result.upper:g}, lower {result.lower:g}",
            f"  automatic merges (pairs): {result.merges_now:,} -> {result.merges_then:,}"
            f"  (+{result.merges_gained:,} gained, -{result.merges_lost:,} lost)",
            f"  possible-match tasks:     {result.tasks_now:,} -> {result.tasks_then:,}"
            f"  (+{result.tasks_opened:,} opened, -{result.tasks_closed:,} closed)",
            f"  resolution: each count within {result.resolution:,} pairs (0.01-bit bins);"
            " steward decisions do not move",
        ]
    )


def what_if_command(
    upper: Annotated[float, typer.Option("--upper", help="merge threshold (probability)")],
    lower: Annotated[float, typer.Option("--lower", help="possible-match threshold")],
    run: Annotated[str | None, typer.Option("--run", help="run id (default: the latest)")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """What other thresholds would do to the last run's merges and possible-match tasks,
    computed from its stored scores (the matcher does not run)."""
    guarded(lambda: _what_if(upper, lower, run, warehouse))


def _what_if(upper: float, lower: float, run_id: str | None, warehouse: str | None) -> None:
    from warehouse.runs import stored_score_histogram

    with warehouse_session(warehouse) as session:
        found = stored_score_histogram(session, run_id=run_id)
    if found is None:
        which = f"run {run_id}" if run_id else "no successful run"
        raise MdmError(f"{which} kept the scores a what-if needs (runs from this version on do)")
    stored, histogram = found
    try:
        result = what_if(histogram, upper=upper, lower=lower)
    except ValueError as exc:
        raise MdmError(f"--upper/--lower: {exc}") from None
    typer.echo(format_what_if(result, run=stored.run_id))
