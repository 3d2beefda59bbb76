"""The load of `customer_segment`, its history, and `rm_alert`."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from warehouse.load.bulk import column_values, insert_columns, insert_rows
from warehouse.load.chunks import chunks, holds_rows
from warehouse.models import CustomerSegment, CustomerSegmentHistory, RmAlert
from warehouse.run_output import RunOutput
from warehouse.values import json_safe, same_scores


def segment_changes(both: pd.DataFrame) -> pd.DataFrame:
    """Assignments whose value differs: customer_id, segment_type, old_value, new_value,
    rule_version. ``both``: stored and new assignments outer-joined on the key (stored columns
    suffixed ``_stored``); a missing side (first assignment, leaving a campaign list) is null."""
    old, new = both["segment_value_stored"], both["segment_value"]
    changed = (old != new) & ~(old.isna() & new.isna())
    return both.loc[changed].rename(
        columns={"segment_value_stored": "old_value", "segment_value": "new_value"}
    )


SEGMENT_COLUMNS = ("segment_value", "score", "rule_version", "next_contact_due")


def write_segments(session: Session, output: RunOutput, now: dt.datetime) -> int:
    """Write the assignments of this run's customers that are new or differ, delete those that
    no longer hold, and keep every change of value in the history. An unchanged assignment is
    left as stored, `assigned_at` included: it says since when the assignment holds."""
    segments = output.segments
    if segments.empty:
        return 0
    if not holds_rows(session, CustomerSegment):
        return _write_first_segments(session, output, now)
    key = ["customer_id", "segment_type"]
    customer_ids = list(segments["customer_id"].unique())
    stored = pd.concat(
        [
            pd.read_sql(
                sa.select(*(getattr(CustomerSegment, c) for c in (*key, *SEGMENT_COLUMNS))).where(
                    CustomerSegment.customer_id.in_(chunk)
                ),
                session.connection(),
            )
            for chunk in chunks(customer_ids)
        ],
        ignore_index=True,
    )
    both = stored.merge(
        segments[[*key, *SEGMENT_COLUMNS]],
        on=key,
        how="outer",
        suffixes=("_stored", ""),
        indicator=True,
    )
    changes = segment_changes(both)
    differs = (both["_merge"] == "both") & ~_same_segment(both)
    stale = both.loc[(both["_merge"] == "left_only") | differs, key]
    for segment_type, group in stale.groupby("segment_type"):
        for chunk in chunks(group["customer_id"].tolist()):
            session.execute(
                sa.delete(CustomerSegment).where(
                    CustomerSegment.segment_type == segment_type,
                    CustomerSegment.customer_id.in_(chunk),
                )
            )
    fresh = both.loc[(both["_merge"] == "right_only") | differs, key]
    _insert_assignments(session, segments.merge(fresh, on=key), now)
    changed_on = output.segments_as_of or now.date()
    history = changes[["customer_id", "segment_type", "old_value", "new_value", "rule_version"]]
    insert_columns(
        session,
        CustomerSegmentHistory,
        {
            **{name: column_values(history[name]) for name in history.columns},
            "changed_on": [changed_on] * len(history),
            "changed_at": [now] * len(history),
            "run_id": [output.run_id] * len(history),
        },
    )
    return len(history)


def _insert_assignments(session: Session, written: pd.DataFrame, now: dt.datetime) -> None:
    table = CustomerSegment.__table__.c
    columns = {name: column_values(written[name]) for name in written.columns if name in table}
    insert_columns(session, CustomerSegment, {**columns, "assigned_at": [now] * len(written)})


def _write_first_segments(session: Session, output: RunOutput, now: dt.datetime) -> int:
    """A warehouse without assignments (a first run): every assignment is new, so nothing is
    read or compared, and every one is a first assignment in the history, copied by the
    database from the rows just written rather than sent again (half of a first run's segment
    rows are history)."""
    _insert_assignments(session, output.segments, now)
    history = CustomerSegmentHistory.__table__.c
    segment = CustomerSegment.__table__.c
    changed_on = output.segments_as_of or now.date()
    copied = sa.insert(CustomerSegmentHistory).from_select(
        [
            history.customer_id,
            history.segment_type,
            history.old_value,
            history.new_value,
            history.changed_on,
            history.changed_at,
            history.rule_version,
            history.run_id,
        ],
        sa.select(
            segment.customer_id,
            segment.segment_type,
            sa.null(),
            segment.segment_value,
            sa.bindparam("changed_on", changed_on, history.changed_on.type),
            sa.bindparam("changed_at", now, history.changed_at.type),
            segment.rule_version,
            sa.bindparam("run_id", output.run_id, history.run_id.type),
        ).order_by(segment.customer_id, segment.segment_type),
    )
    session.execute(copied)
    return len(output.segments)  # one first assignment each


def _same_segment(both: pd.DataFrame) -> pd.Series:
    """Stored and new assignment agree: texts equal, scores to SCORE_TOLERANCE, due dates the
    same day (missing equals missing)."""
    same = pd.Series(True, index=both.index)
    for name in ("segment_value", "rule_version"):
        old, new = both[f"{name}_stored"], both[name]
        same &= (old.astype(object) == new.astype(object)) | (old.isna() & new.isna())
    same &= same_scores(both["score_stored"], both["score"])
    old_due = pd.to_datetime(both["next_contact_due_stored"], errors="coerce")
    new_due = pd.to_datetime(both["next_contact_due"], errors="coerce")
    same &= (old_due == new_due) | (old_due.isna() & new_due.isna())
    return same


def write_alerts(session: Session, output: RunOutput, now: dt.datetime) -> int:
    rows = [
        {
            **alert,
            "details": json_safe(alert["details"]),
            "status": "open",
            "created_at": now,
            "run_id": output.run_id,
        }
        for alert in output.alerts
    ]
    insert_rows(session, RmAlert, rows)
    return len(rows)
