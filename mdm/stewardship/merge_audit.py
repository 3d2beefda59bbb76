"""The verdicts on a run's audited automatic merges, and the precision they support.

A run's drawn pairs are in `merge_audit_sample` (their tasks' keys and bands), the band sizes
in its `pipeline_run.counts["merge_audit"]`; a verdict is the latest confirm_match (same person)
or not_a_match on the pair's task. A pair that several runs drew has one task, and its verdict
counts for each of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.matching.audit import Precision, estimate_precision
from warehouse.models import MergeAuditSample, StewardDecision, StewardTask

VERDICTS = ("confirm_match", "not_a_match")


def band_verdicts(session: Session, *, run_id: str) -> dict[int, tuple[int, int]]:
    """band -> (verdicts, same person) of the pairs the run drew."""
    rows = session.execute(
        sa.select(MergeAuditSample.band, StewardTask.task_id, StewardDecision.action)
        .join(StewardTask, StewardTask.task_key == MergeAuditSample.task_key)
        .join(StewardDecision, StewardDecision.task_id == StewardTask.task_id)
        .where(MergeAuditSample.run_id == run_id, StewardDecision.action.in_(VERDICTS))
        .order_by(StewardDecision.decision_id)
    ).all()
    latest = {task_id: (band, action) for band, task_id, action in rows}
    counted: dict[int, tuple[int, int]] = {}
    for band, action in latest.values():
        answered, same = counted.get(band, (0, 0))
        counted[band] = (answered + 1, same + (action == "confirm_match"))
    return counted


def run_precision(
    session: Session, *, run_id: str, counts: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], Precision] | None:
    """The run's bands with their verdicts so far, and the estimated precision of its automatic
    merges; None when the run drew no sample (no audit, or an older run)."""
    audit = counts.get("merge_audit") or {}
    if not audit.get("bands"):
        return None
    verdicts = band_verdicts(session, run_id=run_id)
    bands = [
        {
            **band,
            "verdicts": verdicts.get(band["band"], (0, 0))[0],
            "correct": verdicts.get(band["band"], (0, 0))[1],
        }
        for band in audit["bands"]
    ]
    return bands, estimate_precision(bands)
