"""An HTML page per run with its charts, and a trends page across runs.

A run's page shows stage times, quarantine reasons per channel, the match-weight distribution
against both thresholds, merges per blocking rule, cluster sizes, tasks opened and segment sizes.
The trends page follows quarantine rate, duplicate rate, the open backlog and stage times from
run to run. Both are drawn from what `pipeline_run` keeps (its `counts` and `timings`), so the
workbench serves the same pages as the file a run writes.

Charts are Vega-Lite (altair) rendered to SVG by vl-convert and inlined: the pages need no
CDN, no JavaScript and no network. Counts, channel, rule and segment names only: no personal data.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.gates import customer_rows
from mdm.matching.audit import Precision, estimate_precision

# a run's audited bands with their verdicts so far, and the precision they support
AuditVerdicts = tuple[list[dict[str, Any]], Precision]

if TYPE_CHECKING:
    from flows.pipeline import RunSummary

REPORT_NAME = "run.html"
WIDTH = 420

PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 2rem; }
th, td { padding: .25rem .75rem; border-bottom: 1px solid #ddd; text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0 0 2rem 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 1rem; }
"""


@dataclass(frozen=True)
class StoredRun:
    """One `pipeline_run` row, as the trends page reads it."""

    run_id: str
    status: str
    started_at: dt.datetime
    counts: Mapping[str, Any]
    timings: Mapping[str, float]


def _svg(chart: Any) -> str:
    import vl_convert

    svg: str = vl_convert.vegalite_to_svg(chart.to_json())
    return svg


def _frame(rows: list[dict[str, Any]], empty: dict[str, Any]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows or [empty])


def _bars(
    rows: list[dict[str, Any]], *, title: str, x: str, y: str, color: str | None = None
) -> Any:
    import altair as alt

    frame = _frame(rows, {x: 0, y: "(none)", **({color: "(none)"} if color else {})})
    encoding: dict[str, Any] = {
        "x": alt.X(f"sum({x}):Q", title=x),
        "y": alt.Y(f"{y}:N", title=None, sort=None),
        "tooltip": list(frame.columns),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=color)
    height = 22 * max(frame[y].nunique(), 1)
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(**encoding)
        .properties(width=WIDTH, height=height)
    )


def stage_times_chart(timings: Mapping[str, float]) -> Any:
    rows = [{"stage": stage, "seconds": float(s)} for stage, s in timings.items()]
    return _bars(rows, title="Stage times (s)", x="seconds", y="stage")


def quarantine_chart(counts: Mapping[str, Any]) -> Any:
    rows = [
        {"channel": channel, "reason": rule, "rows": n}
        for channel, rules in counts.get("quarantine_reasons", {}).items()
        for rule, n in rules.items()
    ]
    return _bars(
        rows, title="Quarantined rows by channel and reason", x="rows", y="channel", color="reason"
    )


def match_weight_chart(profile: Mapping[str, Any]) -> Any:
    """Pairs per match weight (log scale: a few merges sit beside millions of non-matches), with
    a rule at each threshold: right of `upper` merges, between the two goes to a steward."""
    import altair as alt

    weights = profile.get("weights", {"bin_start": [], "pairs": []})
    rows = [
        {"weight": start, "weight_end": start + 2, "pairs": n}
        for start, n in zip(weights["bin_start"], weights["pairs"], strict=True)
        if n
    ]
    bars = (
        alt.Chart(_frame(rows, {"weight": 0, "weight_end": 2, "pairs": 0}))
        .mark_bar()
        .encode(
            x=alt.X("weight:Q", bin="binned", title="match weight (log2 Bayes factor)"),
            x2="weight_end:Q",
            y=alt.Y("pairs:Q", scale=alt.Scale(type="symlog"), title="candidate pairs"),
            tooltip=["weight", "pairs"],
        )
    )
    thresholds = profile.get("thresholds", {})
    lines = [
        {"threshold": f"{name} {thresholds[name]:g}", "weight": thresholds[f"{name}_weight"]}
        for name in ("lower", "upper")
        if name in thresholds
    ]
    rules = (
        alt.Chart(_frame(lines, {"threshold": "(none)", "weight": 0}))
        .mark_rule(strokeDash=[4, 3], size=2)
        .encode(x="weight:Q", color=alt.Color("threshold:N", title="threshold"))
    )
    title = f"Match weights of {profile.get('pairs_scored', 0):,} scored pairs"
    return (bars + rules).properties(title=title, width=WIDTH, height=180)


def merges_by_rule_chart(profile: Mapping[str, Any]) -> Any:
    rows = [{"rule": r, "pairs": n} for r, n in profile.get("merges_by_rule", {}).items()]
    return _bars(rows, title="Merged pairs by blocking rule", x="pairs", y="rule")


def cluster_sizes_chart(profile: Mapping[str, Any]) -> Any:
    rows = [{"size": s, "customers": n} for s, n in profile.get("cluster_sizes", {}).items()]
    return _bars(rows, title="Customers by number of source records", x="customers", y="size")


def tasks_chart(counts: Mapping[str, Any]) -> Any:
    rows = [{"task": t, "tasks": n} for t, n in counts.get("tasks_by_type", {}).items()]
    return _bars(rows, title="Steward tasks opened", x="tasks", y="task")


def segment_sizes_chart(counts: Mapping[str, Any]) -> Any:
    rows = [
        {"segment": f"{kind}: {value}", "type": kind, "customers": n}
        for kind, values in counts.get("segment_sizes", {}).items()
        for value, n in values.items()
    ]
    return _bars(rows, title="Customers per segment", x="customers", y="segment", color="type")


def _facts(counts: Mapping[str, Any], timings: Mapping[str, float]) -> list[tuple[str, str]]:
    read, held = customer_rows(counts.get("rows_read", {}), counts.get("quarantined", {}))
    return [
        ("rows read", f"{read:,}"),
        ("quarantined", f"{held:,} ({held / read:.1%})" if read else "0"),
        ("golden customers", f"{counts.get('customers_total', 0):,}"),
        (
            "new / updated / merged away",
            f"{counts.get('customers_created', 0):,} / "
            f"{counts.get('customers_updated', 0):,} / {counts.get('customers_retired', 0):,}",
        ),
        ("records merged into another", f"{counts.get('merges', 0):,}"),
        ("related customer pairs found", f"{counts.get('relationships_found', 0):,}"),
        ("steward tasks opened", f"{counts.get('tasks_opened', 0):,}"),
        ("open steward tasks", f"{counts.get('tasks_open', 0):,}"),
        *_label_facts(counts.get("labels") or {}),
        ("total time", f"{sum(timings.values()):.1f} s"),
    ]


def _label_facts(labels: Mapping[str, Any]) -> list[tuple[str, str]]:
    if not labels:
        return []
    lower = labels.get("lower", {})
    return [
        (
            "steward decisions learnt from",
            f"{labels['matches']:,} same person, {labels['non_matches']:,} not; "
            f"possible-match threshold {lower.get('configured')} → {lower.get('learnt')}",
        )
    ]


def _weight_changes(labels: Mapping[str, Any]) -> str:
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
        f"{_tasks_removed(labels.get('review'))}"
        f'<p id="held-out">Held-out decisions: {held}</p>\n'
    )


def _tasks_removed(review: Mapping[str, int] | None) -> str:
    """How many possible-match tasks the decisions removed and added in this run."""
    if not review:
        return ""
    return (
        f'<p id="tasks-removed">Possible-match tasks the decisions removed in this run:'
        f" {review['removed']:,} ({review['removed_merged']:,} now merged,"
        f" {review['removed_below_lower']:,} below the learnt threshold); added:"
        f" {review['added']:,}. Pairs for review by EM alone {review['em_review']:,},"
        f" by the taught model {review['taught_review']:,}.</p>"
    )


def precision_text(precision: Precision) -> str:
    """One line: the estimate with its interval, or why there is none."""
    if precision.estimate is None or precision.low is None or precision.high is None:
        return str(precision.reason)
    return (
        f"{precision.estimate:.1%} (95% CI {precision.low:.1%} to {precision.high:.1%}),"
        f" from {precision.verdicts:,} verdicts ({precision.correct:,} same person)"
    )


def _band_weights(band: Mapping[str, Any]) -> str:
    return (
        f"{band['low']:.1f} and up"
        if band["high"] is None
        else (f"{band['low']:.1f} to {band['high']:.1f}")
    )


def audit_section(counts: Mapping[str, Any], verdicts: AuditVerdicts | None = None) -> str:
    """The audit of automatic merges: precision, and per band its weights, merges, draws and
    verdicts. ``verdicts`` as the warehouse holds them now; without them (the report a run
    writes as it ends) no pair is answered yet."""
    audit = counts.get("merge_audit") or {}
    if not audit.get("bands"):
        return ""
    if verdicts is None:
        bands = [{**band, "verdicts": 0, "correct": 0} for band in audit["bands"]]
        verdicts = (bands, estimate_precision(bands))
    bands, precision = verdicts
    rows = "\n".join(
        f"<tr><th>{_band_weights(b)}</th><td>{b['population']:,}</td><td>{b['sampled']:,}</td>"
        f"<td>{b['verdicts']:,}</td><td>{b['correct']:,}</td></tr>"
        for b in bands
    )
    return (
        "<h2>Audit of automatic merges</h2>"
        f'<p id="merge-precision">Estimated precision of automatic merges: '
        f"{html.escape(precision_text(precision))}</p>"
        '<table id="audit-bands"><tr><th>match weight</th><th>merges</th><th>drawn</th>'
        f"<th>answered</th><th>same person</th></tr>\n{rows}</table>\n"
    )


def _table(facts: list[tuple[str, str]]) -> str:
    rows = "\n".join(
        f'<tr><th>{html.escape(name)}</th><td data-fact="{html.escape(name)}">'
        f"{html.escape(value)}</td></tr>"
        for name, value in facts
    )
    return f"<table>\n{rows}\n</table>"


def run_figures(counts: Mapping[str, Any], timings: Mapping[str, float]) -> str:
    """The run's charts as <figure> elements with inline SVG."""
    profile = counts.get("match_profile", {})
    charts = {
        "stage-times": stage_times_chart(timings),
        "quarantine-reasons": quarantine_chart(counts),
        "match-weights": match_weight_chart(profile),
        "merges-by-rule": merges_by_rule_chart(profile),
        "cluster-sizes": cluster_sizes_chart(profile),
        "tasks-opened": tasks_chart(counts),
        "segment-sizes": segment_sizes_chart(counts),
    }
    return "\n".join(f'<figure id="{key}">{_svg(chart)}</figure>' for key, chart in charts.items())


def run_body(
    run_id: str,
    counts: Mapping[str, Any],
    timings: Mapping[str, float],
    audit: AuditVerdicts | None = None,
) -> str:
    """The page's content (facts and charts) without its frame, for the workbench to embed;
    ``audit``: the verdicts on the run's audited merges so far (see audit_section)."""
    figures = run_figures(counts, timings)
    taught = _weight_changes(counts.get("labels") or {})
    audited = audit_section(counts, audit)
    return (
        f"{_table(_facts(counts, timings))}\n{audited}{taught}"
        f'<div class="charts">\n{figures}\n</div>'
    )


def render_run_page(run_id: str, counts: Mapping[str, Any], timings: Mapping[str, float]) -> str:
    """A whole page for one run, from its stored counts and timings."""
    escaped = html.escape(run_id)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>customer-mdm run {escaped}</title>
<style>{PAGE_STYLE}</style></head>
<body>
<h1>customer-mdm run <code>{escaped}</code></h1>
{run_body(run_id, counts, timings)}
</body></html>
"""


def render_run_report(summary: RunSummary) -> str:
    """The page's HTML for a run that just finished."""
    return render_run_page(summary.run_id, summary.counts(), summary.timings)


def write_run_report(summary: RunSummary, reports_dir: Path) -> Path:
    """Write `<reports_dir>/<run_id>/run.html` and return its path."""
    path = reports_dir / summary.run_id / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_run_report(summary), encoding="utf-8")
    return path


def trend_rows(runs: Sequence[StoredRun]) -> list[dict[str, Any]]:
    """Per successful run, oldest first: the rates and the backlog the trends page draws.

    Duplicate rate: the share of the warehouse's records that joined another record's customer.
    """
    rows = []
    for run in sorted(runs, key=lambda r: r.started_at):
        if run.status != "success":
            continue
        counts = run.counts
        read, held = customer_rows(counts.get("rows_read", {}), counts.get("quarantined", {}))
        merges, customers = counts.get("merges", 0), counts.get("customers_total", 0)
        rows.append(
            {
                "run": run.started_at.strftime("%Y-%m-%d %H:%M:%S"),  # one point per run
                "quarantine rate": held / read if read else 0.0,
                "duplicate rate": merges / (merges + customers) if merges + customers else 0.0,
                "open steward tasks": counts.get("tasks_open", 0),
                **{f"stage {stage}": float(s) for stage, s in run.timings.items()},
            }
        )
    return rows


def trend_charts(runs: Sequence[StoredRun]) -> str:
    """The trends page's charts as <figure> elements with inline SVG."""
    import altair as alt

    rows = trend_rows(runs)
    frame = _frame(rows, {"run": "(none)", "quarantine rate": 0.0, "duplicate rate": 0.0})
    order = list(frame["run"])

    def line(measure: str, fmt: str) -> Any:
        return (
            alt.Chart(frame, title=measure.capitalize())
            .mark_line(point=True)
            .encode(
                x=alt.X("run:O", sort=order, title=None, axis=alt.Axis(labelAngle=-30)),
                y=alt.Y(f"{measure}:Q", axis=alt.Axis(format=fmt), title=None),
                tooltip=["run", alt.Tooltip(f"{measure}:Q", format=fmt)],
            )
            .properties(width=WIDTH, height=140)
        )

    charts = {
        "trend-quarantine": line("quarantine rate", ".1%"),
        "trend-duplicates": line("duplicate rate", ".1%"),
    }
    if "open steward tasks" in frame:
        charts["trend-backlog"] = line("open steward tasks", ",d")
    stages = [c for c in frame.columns if c.startswith("stage ")]
    if stages:
        long = frame.melt(id_vars="run", value_vars=stages, var_name="stage", value_name="seconds")
        long["stage"] = long["stage"].str.removeprefix("stage ")
        charts["trend-stages"] = (
            alt.Chart(long, title="Stage times (s)")
            .mark_bar()
            .encode(
                x=alt.X("run:O", sort=order, title=None, axis=alt.Axis(labelAngle=-30)),
                y=alt.Y("sum(seconds):Q", title=None),
                color=alt.Color("stage:N"),
                tooltip=["run", "stage", "seconds"],
            )
            .properties(width=WIDTH, height=160)
        )
    return "\n".join(f'<figure id="{key}">{_svg(chart)}</figure>' for key, chart in charts.items())
