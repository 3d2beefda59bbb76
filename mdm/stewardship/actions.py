"""Steward actions (SPEC §5): the one place a person's decision about customer data is made.

Each action writes a `steward_decision` row (who, when, before, after, why) and resolves its task.
The pipeline reads the decisions on every later run (warehouse/state.py `read_state`): a
confirmed match and a not-a-match become must/cannot-link pairs, a split becomes cannot-link pairs
between the parts, a chosen or corrected value beats survivorship. Where it is cheap the decision
also changes the warehouse at once, so a steward sees it before the next run.

The CLI (`mdm review`) and the workbench (`web/`) both call these functions; the caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.customer_ids import format_customer_id
from mdm.matching.survive import survive
from mdm.schema import GOLDEN_FIELDS, split_record_key
from mdm.stewardship import bulk
from mdm.stewardship.queue import (
    ReviewError,
    customer_records,
    get_customer,
    get_task,
    source_records,
)
from mdm.stewardship.tasks import PAIR_TASK_TYPES, TASK_TYPES
from warehouse.load.customers import close_versions
from warehouse.lock import WarehouseBusy, warehouse_lock
from warehouse.models import (
    Customer,
    CustomerHistory,
    CustomerXref,
    StewardDecision,
    StewardTask,
)
from warehouse.state import next_customer_number, records_from_json
from warehouse.values import column_value, json_ready, json_safe

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "同意"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "不同意"})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _who(by: str) -> str:
    if not by.strip():
        raise ReviewError("say who decides (--by)")
    return by.strip()


def open_task(session: Session, task_id: int, *, types: Sequence[str] = TASK_TYPES) -> StewardTask:
    task = get_task(session, task_id=task_id)
    if task.status != "open":
        raise ReviewError(f"task {task_id} is already {task.status}")
    if task.task_type not in types:
        raise ReviewError(f"task {task_id} is a {task.task_type} task; this action needs {types}")
    return task


def record_decision(
    session: Session,
    *,
    action: str,
    by: str,
    subject: dict[str, Any],
    task: StewardTask | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    status: str | None = "resolved",  # None: the decision is about the task, which stays as is
) -> StewardDecision:
    now = _now()
    decision = StewardDecision(
        task_id=task.task_id if task else None,
        action=action,
        subject=json_safe(subject),
        before=json_safe(before),
        after=json_safe(after),
        reason=(reason or "").strip() or None,
        decided_by=_who(by),
        decided_at=now,
    )
    session.add(decision)
    if task is not None and status is not None:
        task.status, task.resolved_at, task.resolved_by = status, now, decision.decided_by
    session.flush()
    return decision


def _pair_decision(
    session: Session, action: str, *, task_id: int, by: str, reason: str | None
) -> StewardDecision:
    task = open_task(session, task_id, types=PAIR_TASK_TYPES)
    details = task.details
    return record_decision(
        session,
        action=action,
        by=by,
        task=task,
        subject={"left": details["left"], "right": details["right"]},
        before={
            "left_customer_id": details.get("left_customer_id"),
            "right_customer_id": details.get("right_customer_id"),
        },
        after={"same_person": action == "confirm_match"},
        reason=reason,
    )


def confirm_match(
    session: Session, *, task_id: int, by: str, reason: str | None = None
) -> StewardDecision:
    """The two records are one person: the next run merges them (an audited merge stays), and
    keeps them merged."""
    return _pair_decision(session, "confirm_match", task_id=task_id, by=by, reason=reason)


def not_a_match(
    session: Session, *, task_id: int, by: str, reason: str | None = None
) -> StewardDecision:
    """The two records are different people: never merged (an audited merge is split by the
    next run), never proposed again."""
    return _pair_decision(session, "not_a_match", task_id=task_id, by=by, reason=reason)


def dismiss(session: Session, *, task_id: int, by: str, reason: str) -> StewardDecision:
    """Nothing to change; the reason says why, and the task is not reopened."""
    if not reason.strip():
        raise ReviewError("a dismissal needs a reason")
    task = open_task(session, task_id)
    return record_decision(
        session,
        action="dismiss",
        by=by,
        task=task,
        subject={"task_key": task.task_key},
        reason=reason,
        status="dismissed",
    )


def assign_tasks(
    session: Session, *, task_ids: Sequence[int], to: str, by: str, reason: str | None = None
) -> int:
    """Give tasks to a user or a team (``to``; empty: nobody), each assignment audited
    (written set-wise: mdm/stewardship/bulk.py)."""
    return bulk.assign_many(session, task_ids=task_ids, to=to, by=by, reason=reason)


def parse_value(field: str, text: str) -> Any:
    """A value typed by a steward, as the golden field holds it (dates as YYYY-MM-DD)."""
    if field not in GOLDEN_FIELDS:
        raise ReviewError(f"'{field}' is not a customer field")
    text = text.strip()
    if not text:
        return None
    python_type = Customer.__table__.c[field].type.python_type
    try:
        if python_type is bool:
            if text.lower() not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError(text)
            return text.lower() in TRUE_WORDS
        return column_value(field, text)
    except ValueError as exc:
        raise ReviewError(f"'{text}' is not a valid {field}") from exc


def _field_decision(
    session: Session,
    action: str,
    *,
    customer_id: str,
    field: str,
    value: Any,
    by: str,
    reason: str | None,
    task: StewardTask | None,
) -> StewardDecision:
    if field not in GOLDEN_FIELDS:
        raise ReviewError(f"'{field}' is not a customer field")
    customer = get_customer(session, customer_id=customer_id)
    decision = record_decision(
        session,
        action=action,
        by=by,
        task=task,
        subject={"customer_id": customer_id, "field": field},
        before={"value": json_ready(getattr(customer, field))},
        after={"value": json_ready(value)},
        reason=reason,
    )
    _set_field(session, customer, field, value, decision)
    return decision


def _set_field(
    session: Session, customer: Customer, field: str, value: Any, decision: StewardDecision
) -> None:
    """The golden record takes the value now, with a new history version."""
    now = decision.decided_at
    setattr(customer, field, value)
    customer.field_sources = {**customer.field_sources, field: f"steward:{decision.decision_id}"}
    customer.updated_at = now
    _new_version(session, customer, now=now, run_id=f"steward:{decision.decision_id}")


def _new_version(session: Session, customer: Customer, *, now: dt.datetime, run_id: str) -> None:
    close_versions(session, [customer.customer_id], now)
    session.add(
        CustomerHistory(
            customer_id=customer.customer_id,
            valid_from=now,
            valid_to=None,
            fields={name: json_ready(getattr(customer, name)) for name in GOLDEN_FIELDS},
            run_id=run_id,
        )
    )


def _task_for_customer(session: Session, task_id: int | None) -> StewardTask | None:
    return None if task_id is None else open_task(session, task_id)


def choose_value(
    session: Session,
    *,
    customer_id: str,
    field: str,
    value: Any,
    by: str,
    reason: str | None = None,
    task_id: int | None = None,
) -> StewardDecision:
    """Pick one of the values the sources disagree on; it holds on every later run."""
    task = _task_for_customer(session, task_id)
    if task is not None and task.task_type == "conflict":
        offered = {str(v["value"]) for v in task.details.get("values", [])}
        if str(json_ready(value)) not in offered:
            raise ReviewError(f"task {task_id} offers no such {field}; use correct instead")
    return _field_decision(
        session,
        "choose_value",
        customer_id=customer_id,
        field=field,
        value=value,
        by=by,
        reason=reason,
        task=task,
    )


def correct_value(
    session: Session,
    *,
    customer_id: str,
    field: str,
    value: Any,
    by: str,
    reason: str | None = None,
    task_id: int | None = None,
) -> StewardDecision:
    """Set a field to a value no source has (or fill a gap); it holds on every later run."""
    return _field_decision(
        session,
        "correct_value",
        customer_id=customer_id,
        field=field,
        value=value,
        by=by,
        reason=reason,
        task=_task_for_customer(session, task_id),
    )


def split_customer(
    session: Session,
    *,
    customer_id: str,
    records: Sequence[str],
    by: str,
    reason: str | None = None,
    task_id: int | None = None,
) -> StewardDecision:
    """Move `records` out of a customer into a new one; the parts are never merged again.

    Applied at once: the split-off records get a new customer id and both parts a golden
    record by the usual survivorship (a later run then keeps both ids).
    """
    task = _task_for_customer(session, task_id)
    customer = get_customer(session, customer_id=customer_id)
    moved, rest = split_parts(session, customer_id=customer_id, records=records)
    _no_run_holds_the_warehouse(session)
    new_id = format_customer_id(next_customer_number(session))
    decision = record_decision(
        session,
        action="split_customer",
        by=by,
        task=task,
        subject={"customer_id": customer_id, "records": moved, "rest": rest},
        before={"customer_id": customer_id},
        after={"customer_id": new_id},
        reason=reason,
    )
    _apply_split(session, customer, moved, rest, new_id=new_id, decision=decision)
    return decision


def split_parts(
    session: Session, *, customer_id: str, records: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The records a split moves and those it leaves, or why the split cannot be made."""
    members = customer_records(session, customer_id=customer_id)
    moved = sorted(set(records))
    strangers = [key for key in moved if key not in members]
    if strangers:
        raise ReviewError(f"{', '.join(strangers)} not in customer {customer_id}")
    rest = [key for key in members if key not in moved]
    if not moved or not rest:
        raise ReviewError("a split needs some records to move and some to stay")
    return moved, rest


def _no_run_holds_the_warehouse(session: Session) -> None:
    """A split numbers a new customer: a run at work numbers its own from the same highest id,
    so while one holds the warehouse a split waits for it (the run's load checks too)."""
    try:
        with warehouse_lock(session.get_bind(), wait_seconds=0):  # type: ignore[arg-type]
            pass
    except WarehouseBusy as exc:
        raise ReviewError(f"{exc}: split again when the run has finished") from exc


def _apply_split(
    session: Session,
    customer: Customer,
    moved: list[str],
    rest: list[str],
    *,
    new_id: str,
    decision: StewardDecision,
) -> None:
    stored = source_records(session, keys=[*moved, *rest])
    frame = records_from_json(list(stored.values()))
    parts = pd.Series(
        {key: (new_id if key in moved else customer.customer_id) for key in frame.index}
    )
    golden, lineage = survive(frame, parts)
    now, marker = decision.decided_at, f"steward:{decision.decision_id}"
    session.add(
        Customer(
            customer_id=new_id,
            quality_score=customer.quality_score,  # refreshed by the next run
            count_sources=len(moved),
            field_sources={},
            is_active=True,
            created_at=now,
            updated_at=now,
            last_run_id=marker,
        )
    )
    session.flush()
    for part, count in ((customer.customer_id, len(rest)), (new_id, len(moved))):
        target = session.get(Customer, part)
        assert target is not None
        values = golden.loc[part].to_dict()
        for name in GOLDEN_FIELDS:
            setattr(target, name, column_value(name, json_ready(values[name])))
        target.field_sources = {
            name: key for name, key in lineage.loc[part].to_dict().items() if key is not None
        }
        target.count_sources, target.updated_at = count, now
        _new_version(session, target, now=now, run_id=marker)
    for key in moved:
        system, record_id = split_record_key(key)
        session.execute(
            sa.update(CustomerXref)
            .where(CustomerXref.source_system == system, CustomerXref.source_record_id == record_id)
            .values(customer_id=new_id, match_score=1.0, matched_at=now)
        )


def audit_search(session: Session, *, field: str, by: str, refused: bool = False) -> None:
    """A search by phone or ID number is a look at identifiers, audited like a reveal (the
    audit names the field, never the value searched)."""
    action = "search_refused" if refused else "search"
    record_decision(session, action=action, by=by, subject={"field": field}, status=None)


def reveal_field(
    session: Session,
    *,
    field: str,
    by: str,
    customer_id: str | None = None,
    record: str | None = None,
    reason: str | None = None,
    task: StewardTask | None = None,
) -> Any:
    """The unmasked value of one field of one customer or source record; the look is audited
    (the audit names the field, never the value, and the task it was looked at for)."""
    if (customer_id is None) == (record is None):
        raise ReviewError("reveal a field of one customer or of one record")
    if field not in GOLDEN_FIELDS:
        raise ReviewError(f"'{field}' is not a customer field")
    if customer_id is not None:
        value = getattr(get_customer(session, customer_id=customer_id), field)
        subject: dict[str, Any] = {"customer_id": customer_id, "field": field}
    else:
        found = source_records(session, keys=[str(record)])
        if not found:
            raise ReviewError(f"there is no record {record}")
        value = found[str(record)].get(field)
        subject = {"record": record, "field": field}
    record_decision(
        session, action="reveal", by=by, subject=subject, reason=reason, task=task, status=None
    )
    return value
