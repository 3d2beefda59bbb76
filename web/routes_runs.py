"""Runs: every pipeline run with its figures, one run's report, and the trends across runs.

The pages are drawn from `pipeline_run` (counts and timings), the same figures the run's own
report file shows: counts, channel, rule and segment names only, never a customer's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from flows.gates import customer_rows
from flows.run_report import StoredRun, precision_text, run_body, trend_charts
from mdm.matching.whatif import WhatIf, what_if
from mdm.stewardship.merge_audit import run_precision
from warehouse.models import PipelineRun
from web.deps import Db, Viewer, render

router = APIRouter()
RUNS_SHOWN = 50  # the list and the trends cover the latest runs


def _stored(run: PipelineRun) -> StoredRun:
    return StoredRun(
        run_id=run.run_id,
        status=run.status,
        started_at=run.started_at,
        counts=run.counts or {},
        timings=run.timings or {},
    )


def _audited_merges(counts: Mapping[str, Any]) -> int:
    return int((counts.get("merge_audit") or {}).get("merges", 0))


@router.get("/runs", response_class=HTMLResponse)
def runs(request: Request, session: Db, user: Viewer) -> Response:
    latest = session.scalars(
        sa.select(PipelineRun).order_by(PipelineRun.started_at.desc()).limit(RUNS_SHOWN)
    ).all()
    stored = [_stored(run) for run in latest]
    # the latest run that merged something on its own (an incremental run may have merged none)
    audited = next((r for r in stored if r.status == "success" and _audited_merges(r.counts)), None)
    audit = (
        run_precision(session, run_id=audited.run_id, counts=audited.counts) if audited else None
    )
    return render(
        request,
        "runs.html",
        user,
        runs=stored,
        customer_rows=customer_rows,
        trends=Markup(trend_charts(stored)),  # noqa: S704 (SVG we drew from counts)
        audited=audited,
        precision=precision_text(audit[1]) if audit else None,
    )


def _what_if(
    histogram: dict[str, Any] | None, upper: float | None, lower: float | None
) -> tuple[WhatIf | None, str | None]:
    """The what-if for the thresholds asked (the run's own when none), or why there is none."""
    if not histogram:
        return None, "this run kept no scores for a what-if (runs from this version on do)"
    try:
        return what_if(
            histogram,
            upper=upper if upper is not None else histogram["upper"],
            lower=lower if lower is not None else histogram["lower"],
        ), None
    except ValueError as exc:
        return None, str(exc)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    session: Db,
    user: Viewer,
    run_id: Annotated[str, Path(max_length=36)],
    upper: Annotated[float | None, Query(gt=0, lt=1)] = None,
    lower: Annotated[float | None, Query(gt=0, lt=1)] = None,
) -> Response:
    run = session.get(PipelineRun, run_id)
    if run is None:
        raise HTTPException(status_code=404, detail="no such run")
    stored = _stored(run)
    audit = run_precision(session, run_id=run.run_id, counts=stored.counts)
    body = run_body(run.run_id, stored.counts, stored.timings, audit)  # escaped text, our SVG
    outcome, why_not = _what_if(run.score_histogram, upper, lower)
    return render(
        request,
        "run.html",
        user,
        run=stored,
        error=run.error,
        body=Markup(body),  # noqa: S704
        what_if=outcome,
        what_if_error=why_not,
        asked=upper is not None or lower is not None,
    )
