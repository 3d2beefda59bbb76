"""One line per finished stage, with its counts, when stdout is a terminal; quiet otherwise
(CI, logs, a worker). MDM_PROGRESS=1 or 0 forces it on or off."""

from __future__ import annotations

import os
import sys
from typing import Any


def progress_enabled() -> bool:
    forced = os.environ.get("MDM_PROGRESS", "").strip()
    if forced:
        return forced not in ("0", "false", "no")
    return sys.stdout.isatty()


def _rows(frame: Any) -> int:
    return len(frame) if frame is not None else 0


def stage_counts(stage: str, result: Any) -> str:
    """What a stage's result holds, in counts (never a value)."""
    if stage == "ingest":
        read = sum(batch.rows_read for batch in result)
        rejected = sum(_rows(batch.rejects) for batch in result)
        return f"{read:,} rows read from {len(result)} channels, {rejected:,} unreadable"
    if stage == "transactions":
        read = sum(feed.rows_read for feed in result)
        return f"{read:,} transactions read from {len(result)} feeds"
    if stage == "validate":
        return f"{_rows(result.valid):,} valid, {_rows(result.quarantined):,} quarantined"
    if stage == "read":
        part = result.state.partial
        if part is None:
            return f"all {_rows(result.state.records):,} stored records"
        read = _rows(result.state.records)
        return f"{read:,} of {part.records_total:,} stored records (the delta's neighbourhood)"
    if stage == "dedupe":
        return (
            f"{result.customers_total:,} golden customers, {result.merges:,} records merged,"
            f" {len(result.tasks):,} tasks"
        )
    if stage == "enrich":
        return f"{_rows(result.segments):,} segments, {len(result.tasks):,} compliance tasks"
    if stage == "load":
        return (
            f"{result.get('customers_created', 0):,} new, "
            f"{result.get('customers_updated', 0):,} updated customers written"
        )
    return ""


def report_stage(stage: str, result: Any, seconds: float) -> None:
    """Print the stage's line; a progress line never fails a run."""
    if not progress_enabled():
        return
    try:
        counts = stage_counts(stage, result)
    except (AttributeError, KeyError, TypeError):
        counts = ""
    line = f"mdm: {stage:<12} {seconds:6.1f}s" + (f"  {counts}" if counts else "")
    print(line, file=sys.stdout, flush=True)
