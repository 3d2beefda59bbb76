"""An HTML page per run with its charts: stage times and quarantine reasons per channel.

Charts are Vega-Lite (altair) rendered to SVG by vl-convert and inlined: the page needs no
CDN, no JavaScript and no network. Counts, channel and rule names only: no personal data.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.pipeline import RunSummary

REPORT_NAME = "run.html"


def _svg(chart: Any) -> str:
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(chart.to_json())
    return svg


def stage_times_chart(summary: RunSummary) -> Any:
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(
        {"stage": list(summary.timings), "seconds": [float(s) for s in summary.timings.values()]}
    )
    return (
        alt.Chart(frame, title="Stage times (s)")
        .mark_bar()
        .encode(
            x=alt.X("seconds:Q", title="seconds"),
            y=alt.Y("stage:N", sort=list(summary.timings), title=None),
            tooltip=["stage", "seconds"],
        )
        .properties(width=420, height=24 * max(len(frame), 1))
    )


def quarantine_chart(summary: RunSummary) -> Any:
    import altair as alt
    import pandas as pd

    rows = [
        {"channel": channel, "rule": rule, "rows": count}
        for channel, rules in summary.quarantine_reasons.items()
        for rule, count in rules.items()
    ] or [{"channel": "(none)", "rule": "(none)", "rows": 0}]
    frame = pd.DataFrame(rows)
    return (
        alt.Chart(frame, title="Quarantined rows by channel and reason")
        .mark_bar()
        .encode(
            x=alt.X("sum(rows):Q", title="rows"),
            y=alt.Y("channel:N", title=None),
            color=alt.Color("rule:N", title="reason"),
            tooltip=["channel", "rule", "rows"],
        )
        .properties(width=420, height=28 * max(frame["channel"].nunique(), 1))
    )


def _weight_changes(labels: dict[str, Any]) -> str:
    """The level weights the steward decisions moved most, and the held-out check."""
    if not labels:
        return ""
    rows = "\n".join(
        f"<tr><th>{html.escape(c['comparison'])} · {html.escape(c['level'])}</th>"
        f"<td>{c['before']:+.2f}</td><td>{c['after']:+.2f}</td></tr>"
        for c in labels.get("weight_changes", [])
    )
    held = ", ".join(
        f"{html.escape(k.replace('_', ' '))} {v}"
        for k, v in labels.get("held_out_check", {}).items()
    )
    return (
        '<h2>What steward decisions taught the matcher</h2><table id="weight-changes">'
        f"<tr><th>comparison · level</th><th>bits before</th><th>after</th></tr>\n{rows}</table>"
        f'<p id="held-out">Held-out decisions: {held}</p>'
    )


def render_run_report(summary: RunSummary) -> str:
    """The page's HTML, charts inline as SVG."""
    read = sum(summary.rows_read.values())
    held = sum(summary.quarantined.get(channel, 0) for channel in summary.rows_read)
    facts = [
        ("rows read", f"{read:,}"),
        ("quarantined", f"{held:,} ({held / read:.1%})" if read else "0"),
        ("golden customers", f"{summary.customers_total:,}"),
        (
            "new / updated / merged away",
            f"{summary.customers_created:,} / "
            f"{summary.customers_updated:,} / {summary.customers_retired:,}",
        ),
        ("records merged into another", f"{summary.merges:,}"),
        ("steward tasks opened", f"{summary.tasks_opened:,}"),
        ("total time", f"{sum(summary.timings.values()):.1f} s"),
    ]
    labels = summary.labels
    if labels:
        lower = labels.get("lower", {})
        facts.append(
            (
                "steward decisions learnt from",
                f"{labels['matches']:,} same person, {labels['non_matches']:,} not; "
                f"possible-match threshold {lower.get('configured')} → {lower.get('learnt')}",
            )
        )
    rows = "\n".join(
        f'<tr><th>{html.escape(name)}</th><td data-fact="{html.escape(name)}">'
        f"{html.escape(value)}</td></tr>"
        for name, value in facts
    )
    run_id = html.escape(summary.run_id)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>customer-mdm run {run_id}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 2rem; }}
th, td {{ padding: .25rem .75rem; border-bottom: 1px solid #ddd; text-align: left; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ margin: 0 0 2rem 0; }}
</style></head>
<body>
<h1>customer-mdm run <code>{run_id}</code></h1>
<table>
{rows}
</table>
{_weight_changes(summary.labels)}
<figure id="stage-times">{_svg(stage_times_chart(summary))}</figure>
<figure id="quarantine-reasons">{_svg(quarantine_chart(summary))}</figure>
</body></html>
"""


def write_run_report(summary: RunSummary, reports_dir: Path) -> Path:
    """Write `<reports_dir>/<run_id>/run.html` and return its path."""
    path = reports_dir / summary.run_id / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_run_report(summary), encoding="utf-8")
    return path
