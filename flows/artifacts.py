"""Each run's Prefect artifacts: a markdown summary and tables, counts only (no personal data).

Keys are fixed, so the Prefect UI lists each artifact's versions run after run.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from flows.gates import customer_rows

if TYPE_CHECKING:
    from flows.pipeline import RunSummary

ARTIFACT_KEYS = (
    "mdm-run-summary",
    "mdm-rows-per-channel",
    "mdm-quarantine-reasons",
    "mdm-tasks-opened",
    "mdm-stage-times",
)


def quarantine_reasons(quarantined: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per channel, how many quarantined rows each rule (a fixed name, never a value) sent
    there; a row failing two rules counts under both."""
    counted: dict[str, Counter[str]] = {}
    for channel, reasons in zip(quarantined["source_system"], quarantined["reasons"], strict=True):
        rules = {str(item.get("rule") or "unknown") for item in (reasons or [])} or {"unknown"}
        counted.setdefault(str(channel), Counter()).update(rules)
    return {channel: dict(sorted(rules.items())) for channel, rules in counted.items()}


def artifact_tables(summary: RunSummary) -> dict[str, list[dict[str, Any]]]:
    """The tables of a run, by artifact key."""
    channels = list(summary.rows_read)
    return {
        "mdm-rows-per-channel": [
            {
                "channel": channel,
                "rows_read": summary.rows_read[channel],
                "quarantined": summary.quarantined.get(channel, 0),
            }
            for channel in channels
        ],
        "mdm-quarantine-reasons": [
            {"channel": channel, "rule": rule, "rows": rows}
            for channel, rules in summary.quarantine_reasons.items()
            for rule, rows in rules.items()
        ],
        "mdm-tasks-opened": [
            {"task_type": kind, "opened": count}
            for kind, count in sorted(summary.tasks_by_type.items())
        ],
        "mdm-stage-times": [
            {"stage": stage, "seconds": seconds} for stage, seconds in summary.timings.items()
        ],
    }


def summary_markdown(summary: RunSummary) -> str:
    read, quarantined = customer_rows(summary.rows_read, summary.quarantined)
    rate = quarantined / read if read else 0.0
    lines = [
        f"# customer-mdm run `{summary.run_id}`",
        "",
        "| | |",
        "|---|---:|",
        f"| rows read | {read:,} |",
        f"| quarantined | {quarantined:,} ({rate:.1%}) |",
        f"| golden customers | {summary.customers_total:,} |",
        f"| new / updated / merged away | {summary.customers_created:,} / "
        f"{summary.customers_updated:,} / {summary.customers_retired:,} |",
        f"| records merged into another | {summary.merges:,} |",
        f"| steward tasks opened | {summary.tasks_opened:,} |",
        f"| segment changes | {summary.segment_changes:,} |",
        f"| RM alerts raised | {summary.alerts_raised:,} |",
        f"| total time | {sum(summary.timings.values()):.1f} s |",
        "",
        "Tables: " + ", ".join(f"`{key}`" for key in ARTIFACT_KEYS[1:]) + ". Counts only.",
    ]
    return "\n".join(lines)


def publish_run_artifacts(summary: RunSummary) -> None:
    """Write the run's artifacts to the Prefect server of the flow run it is called in."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(
        summary_markdown(summary), key=ARTIFACT_KEYS[0], description="what the run did"
    )
    for key, rows in artifact_tables(summary).items():
        create_table_artifact(rows, key=key, description=key.removeprefix("mdm-"))


def publish_run_outputs(summary: RunSummary, reports_dir: Path | None) -> None:
    """After a run has loaded: its artifacts, and its HTML report when reports_dir is given.
    The data is in the warehouse by now, so neither failing fails the run: a warning says so."""
    from prefect.logging import get_run_logger

    from flows.run_report import write_run_report

    try:
        publish_run_artifacts(summary)
        if reports_dir is not None:
            write_run_report(summary, reports_dir)
    except Exception as exc:
        get_run_logger().warning("run report or artifacts not written: %s", type(exc).__name__)
