"""Plain-text summaries for the terminal. They carry counts only, never personal data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from flows.gates import customer_rows

if TYPE_CHECKING:
    from flows.pipeline import RunSummary
    from mdm.testbed.evaluate import Evaluation


def format_summary(summary: RunSummary, *, warehouse_url: str) -> str:
    url = sa.engine.make_url(warehouse_url).render_as_string(hide_password=True)
    lines = [f"run {summary.run_id} → {url}", "rows read:"]
    for channel, rows in summary.rows_read.items():
        quarantined = summary.quarantined.get(channel, 0)
        lines.append(f"  {channel:<12} {rows:>9,} read  {quarantined:>7,} quarantined")
    total_read, total_quarantined = customer_rows(summary.rows_read, summary.quarantined)
    lines.append(f"  {'total':<12} {total_read:>9,} read  {total_quarantined:>7,} quarantined")
    if summary.transactions_read:
        read = sum(summary.transactions_read.values())
        lines.append(
            f"transactions: {read:,} read, {summary.transactions_linked:,} rolled up to customers,"
            f" {read - summary.transactions_linked:,} quarantined"
        )
    for repeat in summary.repeated_files:
        lines.append(
            f"  repeated file: {repeat['channel']}/{repeat['file']} has the same bytes as"
            f" {repeat['same_as']}"
        )
    lines.append(
        f"golden customers: {summary.customers_total:,} "
        f"({summary.customers_created:,} new, {summary.customers_updated:,} updated, "
        f"{summary.customers_retired:,} merged away); records merged into another: "
        f"{summary.merges:,}"
    )
    if summary.relationships_found:
        lines.append(
            f"related customers (households, shared phones or addresses): "
            f"{summary.relationships_found:,} pairs"
        )
    by_type = ", ".join(
        f"{kind} {count:,}" for kind, count in sorted(summary.tasks_by_type.items())
    )
    lines.append(
        f"steward tasks opened: {summary.tasks_opened:,}" + (f" ({by_type})" if by_type else "")
    )
    stages = "  ".join(f"{stage} {seconds:.1f}s" for stage, seconds in summary.timings.items())
    lines.append(f"time: {stages}")
    if summary.report_path:
        lines.append(f"validation report: {summary.report_path}")
        run_page = Path(summary.report_path).with_name("run.html")  # flows/run_report.py
        if run_page.is_file():
            lines.append(f"run report: {run_page}")
    return "\n".join(lines)


def format_evaluation(result: Evaluation) -> str:
    return "\n".join(
        [
            f"records evaluated: {result.records:,} "
            f"({result.missing_from_warehouse:,} in truth but not in the warehouse: quarantined)",
            f"golden customers: {result.customers:,}   true persons: {result.persons:,}",
            f"pairwise precision: {result.precision:.4f}   recall: {result.recall:.4f}   "
            f"F1: {result.f1:.4f}",
        ]
    )
