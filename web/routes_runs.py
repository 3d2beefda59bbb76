"""Runs: every pipeline run with its figures, one run's report, and the trends across runs.

The pages are drawn from `pipeline_run` (counts and timings), the same figures the run's own
report file shows: counts, channel, rule and segment names only, never a customer's data.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from flows.gates import customer_rows
from flows.run_report import StoredRun, precision_text, run_body, trend_charts
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


@router.get("/runs", response_class=HTMLResponse)
def runs(request: Request, session: Db, user: Viewer) -> Response:
    latest = session.scalars(
        sa.select(PipelineRun).order_by(PipelineRun.started_at.desc()).limit(RUNS_SHOWN)
    ).all()
    stored = [_stored(run) for run in latest]
    audited = next(
        (r for r in stored if r.status == "success" and r.counts.get("merge_audit")), None
    )
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


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request, session: Db, user: Viewer, run_id: Annotated[str, Path(max_length=36)]
) -> Response:
    run = session.get(PipelineRun, run_id)
    if run is None:
        raise HTTPException(status_code=404, detail="no such run")
    stored = _stored(run)
    audit = run_precision(session, run_id=run.run_id, counts=stored.counts)
    body = run_body(run.run_id, stored.counts, stored.timings, audit)  # escaped text, our SVG
    return render(request, "run.html", user, run=stored, error=run.error, body=Markup(body))  # noqa: S704
