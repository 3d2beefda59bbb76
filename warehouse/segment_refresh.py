"""Bringing the stored segments to a later date (mdm/segments/calendar.py) over a narrow read:
the birth fields of the active customers, then only the customers whose age moved, and one
UPDATE for the contact dates that have passed. `mdm segments refresh` runs it on its own; an
incremental run's load runs it for every customer the run did not recompute."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.schema import REJECT_COLUMNS
from mdm.segments.calendar import aged, refreshed_segments
from mdm.segments.config import SegmentRules
from mdm.segments.rules import SEGMENT_COLUMNS
from warehouse.load.chunks import chunks
from warehouse.load.segments import write_segments
from warehouse.models import Customer, CustomerSegment, SegmentCalendar
from warehouse.run_output import RunOutput
from warehouse.segment_reads import segment_counts
from warehouse.state import read_customers

CALENDAR = "segments"


@dataclass(frozen=True)
class CalendarRefresh:
    """What a refresh moved: from which date to which, and how much."""

    before: dt.date | None
    after: dt.date
    customers_aged: int = 0  # customers whose age moved between the dates
    segment_changes: int = 0  # values that changed (each kept in the segment history)
    contacts_due: int = 0  # contact due dates that had passed and are now the new date


def segments_as_of(session: Session) -> dt.date | None:
    """The date the stored segments are as of; None before the first run that records it."""
    stored = session.get(SegmentCalendar, CALENDAR)
    return stored.as_of if stored is not None else None


def set_segments_as_of(session: Session, as_of: dt.date) -> None:
    session.merge(SegmentCalendar(name=CALENDAR, as_of=as_of))


def refresh_calendar_segments(
    session: Session,
    *,
    rules: SegmentRules,
    as_of: dt.date,
    run_id: str | None = None,
    skip: Collection[str] = (),
) -> CalendarRefresh:
    """Bring the age-driven segments and contact dates of the active customers (but `skip`,
    whose segments the caller recomputes) from the stored date to `as_of`, in the session's
    transaction. A date before the stored one moves nothing (segments never go back)."""
    before = segments_as_of(session)
    if before is None or as_of <= before:
        return CalendarRefresh(before, max(as_of, before or as_of))
    births = pd.DataFrame(
        session.execute(
            sa.select(Customer.customer_id, Customer.birth_date, Customer.birth_year).where(
                Customer.is_active.is_(True)
            )
        ).all(),
        columns=["customer_id", "birth_date", "birth_year"],
    ).set_index("customer_id")
    moved = births.index[aged(births, before, as_of)]
    moved = [str(customer_id) for customer_id in moved if customer_id not in skip]
    customers = read_customers(session, moved)
    stored = _stored_segments(session, moved)
    segments = refreshed_segments(customers, stored, rules, before=before, after=as_of)
    changes = write_segments(session, _output(run_id or str(uuid.uuid4()), segments, as_of), now())
    due = session.execute(
        sa.update(CustomerSegment)
        .where(
            CustomerSegment.segment_type == "contact_frequency",
            CustomerSegment.next_contact_due < as_of,
        )
        .values(next_contact_due=as_of)
    )
    set_segments_as_of(session, as_of)
    return CalendarRefresh(
        before,
        as_of,
        customers_aged=len(moved),
        segment_changes=changes,
        contacts_due=int(getattr(due, "rowcount", 0) or 0),
    )


def bring_to_run_date(session: Session, output: RunOutput) -> int:
    """Before a run's segments are written: a run that computed only some customers' segments
    (``calendar_rules`` set) brings the others' to its date; a run that computed everyone's
    records its date. Returns the segment changes the refresh made."""
    if output.segments_as_of is None:
        return 0
    if output.calendar_rules is None:
        set_segments_as_of(session, output.segments_as_of)
        return 0
    refresh = refresh_calendar_segments(
        session,
        rules=output.calendar_rules,
        as_of=output.segments_as_of,
        run_id=output.run_id,
        skip=set(output.segments["customer_id"]),
    )
    return refresh.segment_changes


def stored_segment_sizes(session: Session) -> dict[str, dict[str, int]]:
    """Active customers per segment type and value, as the warehouse holds them."""
    sizes: dict[str, dict[str, int]] = {}
    for segment_type, value, count in segment_counts(session).itertuples(index=False):
        sizes.setdefault(str(segment_type), {})[str(value)] = int(count)
    return sizes


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stored_segments(session: Session, customer_ids: list[str]) -> pd.DataFrame:
    parts = [
        pd.read_sql(
            sa.select(*(getattr(CustomerSegment, c) for c in SEGMENT_COLUMNS)).where(
                CustomerSegment.customer_id.in_(list(chunk))
            ),
            session.connection(),
        )
        for chunk in chunks(customer_ids)
    ]
    if not parts:
        return pd.DataFrame(columns=list(SEGMENT_COLUMNS))
    return pd.concat(parts, ignore_index=True)


def _output(run_id: str, segments: pd.DataFrame, as_of: dt.date) -> RunOutput:
    """The part of a run's output that write_segments reads."""
    return RunOutput(
        run_id=run_id,
        records=pd.DataFrame(),
        xref=pd.DataFrame(),
        customers=pd.DataFrame(),
        retired_customer_ids=[],
        segments=segments,
        tasks=[],
        quarantined=pd.DataFrame(columns=list(REJECT_COLUMNS)),
        segments_as_of=as_of,
    )
