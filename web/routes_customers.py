"""A customer: the golden record, its source records, related customers, segments and their
history, its tasks and the audit trail of every decision about it."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from mdm.schema import GOLDEN_FIELDS
from mdm.stewardship import actions, queue
from warehouse.models import (
    Customer,
    CustomerHistory,
    CustomerRelationship,
    CustomerSegment,
    CustomerSegmentHistory,
    StewardTask,
)
from web.deps import Db, Steward, Viewer, render

router = APIRouter()


def segment_history(session: Session, customer_id: str) -> list[dict[str, Any]]:
    """The customer's moves between segments, newest first (the latest 200): by the run date the
    rules measured from, then by when the run wrote them, then by insertion."""
    history = CustomerSegmentHistory
    query = (
        sa.select(
            history.segment_type,
            history.old_value,
            history.new_value,
            history.changed_on,
            history.changed_at,
            history.run_id,
        )
        .where(history.customer_id == customer_id)
        .order_by(history.changed_on.desc(), history.changed_at.desc(), history.history_id.desc())
        .limit(200)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def related_customers(session: Session, customer_id: str) -> list[dict[str, Any]]:
    """The customer's households and shared phones or addresses (customer_relationship), with
    the other customer's id and name, strongest kind first (the first 200)."""
    link = CustomerRelationship
    other = sa.case(
        (link.customer_id == customer_id, link.related_customer_id), else_=link.customer_id
    )
    kind_order = sa.case(
        (link.relationship_type == "household", 0),
        (link.relationship_type == "shared_phone", 1),
        else_=2,
    )
    query = (
        sa.select(
            other.label("customer_id"),
            Customer.full_name,
            Customer.is_active,
            link.relationship_type,
            link.evidence,
            link.since,
        )
        .join(Customer, Customer.customer_id == other, isouter=True)
        .where(sa.or_(link.customer_id == customer_id, link.related_customer_id == customer_id))
        .order_by(kind_order, other)
        .limit(200)
    )
    return [dict(row) for row in session.execute(query).mappings()]


def customer_page(
    request: Request, session: Session, user: Any, customer_id: str, revealed: Any = None
) -> HTMLResponse:
    customer = queue.get_customer(session, customer_id=customer_id)
    records = queue.source_records(
        session, keys=queue.customer_records(session, customer_id=customer_id)
    )
    return render(
        request,
        "customer.html",
        user,
        customer=customer,
        golden={
            name: getattr(customer, name)
            for name in GOLDEN_FIELDS
            if getattr(customer, name) is not None
        },
        records=records,
        related=related_customers(session, customer_id),
        source_fields=[
            name for name in GOLDEN_FIELDS if any(r.get(name) is not None for r in records.values())
        ],
        segments=session.execute(
            sa.select(CustomerSegment)
            .where(CustomerSegment.customer_id == customer_id)
            .order_by(CustomerSegment.segment_type)
        ).scalars(),
        segment_history=segment_history(session, customer_id),
        versions=session.execute(
            sa.select(CustomerHistory)
            .where(CustomerHistory.customer_id == customer_id)
            .order_by(CustomerHistory.valid_from.desc())
            .limit(20)
        ).scalars(),
        tasks=session.execute(
            sa.select(StewardTask)
            .where(StewardTask.customer_id == customer_id)
            .order_by(StewardTask.created_at, StewardTask.task_id)
        ).scalars(),
        decisions=queue.decisions_about(session, customer_id=customer_id),
        revealed=revealed or {},
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def show_customer(request: Request, session: Db, user: Viewer, customer_id: str) -> HTMLResponse:
    return customer_page(request, session, user, customer_id)


@router.post("/customers/{customer_id}/reveal", response_class=HTMLResponse)
def reveal(
    request: Request,
    session: Db,
    user: Steward,
    customer_id: str,
    record: Annotated[str, Form()],
    field: Annotated[str, Form()],
) -> HTMLResponse:
    """One field of the golden record (record = the customer id) or of one of its sources."""
    if record == customer_id:
        value = actions.reveal_field(
            session, field=field, customer_id=customer_id, by=user.username
        )
    else:
        if record not in queue.customer_records(session, customer_id=customer_id):
            raise queue.ReviewError(f"{record} is not a source of {customer_id}")
        value = actions.reveal_field(session, field=field, record=record, by=user.username)
    session.commit()
    return customer_page(request, session, user, customer_id, revealed={(record, field): value})
