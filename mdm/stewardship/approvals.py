"""Four eyes (maker-checker, SPEC §5): risky changes wait for a second steward.

A merge (confirm_match), a split, or a chosen or corrected value of a customer in one of the
configured value tiers (MDM_FOUR_EYES_TIERS), and any bulk action over MDM_FOUR_EYES_BULK
tasks, is not applied when its maker decides it: it becomes a `pending_change`, its tasks wait
with the status `pending`, and a `propose_change` decision audits the proposal. Another steward
approves it (the change is then applied as the maker's decision, and `approve_change` audits
the approval) or rejects it (`reject_change`; the tasks are open again). The maker can do
neither.

`decide` and `decide_many` are the one door the CLI and the workbench go through. Confirm,
not-a-match and dismiss of many tasks, and the approval of a bulk, are written set-wise
(mdm/stewardship/bulk.py): each task keeps its own audited decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.settings import ProcessSettings
from mdm.stewardship import actions, bulk
from mdm.stewardship.bulk import DecisionError as DecisionError  # decide_many raises it
from mdm.stewardship.queue import ReviewError, get_customer, get_task
from mdm.stewardship.tasks import PAIR_TASK_TYPES
from warehouse.load.chunks import chunks
from warehouse.models import CustomerSegment, PendingChange, StewardDecision, StewardTask

# a steward's decision as the CLI and the workbench name it, to the action it runs
ACTIONS = (
    "confirm_match",
    "not_a_match",
    "dismiss",
    "split_customer",
    "choose_value",
    "correct_value",
)
RISKY = frozenset({"confirm_match", "split_customer", "choose_value", "correct_value"})


@dataclass(frozen=True)
class FourEyes:
    """Which changes need a checker: customers of these value tiers, bulks over this size."""

    tiers: frozenset[str]
    bulk: int

    @classmethod
    def configured(cls) -> FourEyes:
        settings = ProcessSettings()
        return cls(frozenset(settings.four_eyes_tiers), settings.four_eyes_bulk)


@dataclass(frozen=True)
class Request:
    """One decision as a steward asks for it; ``value`` as typed (parsed when applied)."""

    task_id: int
    action: str
    reason: str | None = None
    field: str | None = None
    value: str | None = None
    records: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """Applied decisions, or the pending change that waits for a checker."""

    decisions: list[StewardDecision | bulk.WrittenDecision]
    pending: PendingChange | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _arguments(request: Request) -> dict[str, Any]:
    return {
        "task_id": request.task_id,
        "action": request.action,
        "reason": request.reason,
        "field": request.field,
        "value": request.value,
        "records": list(request.records),
    }


def _request(arguments: dict[str, Any]) -> Request:
    return Request(**{**arguments, "records": tuple(arguments.get("records") or ())})


def _customers(session: Session, request: Request) -> list[str]:
    """The customers a request changes: both sides of a merge, else the task's customer."""
    task = get_task(session, task_id=request.task_id)
    if request.action == "confirm_match":
        sides = (task.details.get("left_customer_id"), task.details.get("right_customer_id"))
        return [c for c in sides if c]
    return [task.customer_id] if task.customer_id else []


def _check(session: Session, request: Request) -> None:
    """Refuse now what could not be applied on approval (the action checks again then)."""
    if request.action not in ACTIONS:
        raise ReviewError(f"unknown action '{request.action}'")
    task = actions.open_task(session, request.task_id)
    if request.action in ("confirm_match", "not_a_match") and task.task_type not in PAIR_TASK_TYPES:
        raise ReviewError(f"task {request.task_id} is a {task.task_type} task, not a pair")
    if request.action in ("split_customer", "choose_value", "correct_value"):
        if not task.customer_id:
            raise ReviewError(f"task {request.task_id} is about no customer")
        get_customer(session, customer_id=task.customer_id)
    if request.action == "split_customer":
        actions.split_parts(session, customer_id=task.customer_id or "", records=request.records)
    if request.action in ("choose_value", "correct_value"):
        name = request.field or task.details.get("field")
        if not name or request.value is None:
            raise ReviewError(f"{request.action} needs a field and a value")
        actions.parse_value(name, request.value)


def why_approval(session: Session, rules: FourEyes, request: Request) -> str | None:
    """Why this one decision needs a checker, or None. Not the same person on an audited merge
    splits a customer, as risky as a split."""
    risky = request.action in RISKY
    if request.action == "not_a_match":
        risky = get_task(session, task_id=request.task_id).task_type == "merge_audit"
    if not risky or not rules.tiers:
        return None
    customers = _customers(session, request)
    if not customers:
        return None
    tiers = session.execute(
        sa.select(CustomerSegment.customer_id, CustomerSegment.segment_value).where(
            CustomerSegment.segment_type == "value_tier",
            CustomerSegment.customer_id.in_(customers),
        )
    ).all()
    high = sorted(f"{tier} customer {customer}" for customer, tier in tiers if tier in rules.tiers)
    return ", ".join(high) or None


def _high_tier_customers(session: Session, rules: FourEyes, customers: set[str]) -> set[str]:
    """Those of ``customers`` in a tier whose changes need a checker, a chunk at a time."""
    high: set[str] = set()
    for chunk in chunks(sorted(customers)):
        high.update(
            session.execute(
                sa.select(CustomerSegment.customer_id).where(
                    CustomerSegment.segment_type == "value_tier",
                    CustomerSegment.segment_value.in_(sorted(rules.tiers)),
                    CustomerSegment.customer_id.in_(chunk),
                )
            ).scalars()
        )
    return high


def _set_wise(session: Session, rules: FourEyes, requests: Sequence[Request]) -> list[bool]:
    """Which requests the set-wise path applies: confirm, not-a-match and dismiss that need
    no checker. Through `decide` go a confirmation touching a high-tier customer and every
    verdict on an audited merge (whose "not the same" splits a customer, as `why_approval`
    weighs)."""
    pairs = [r for r in requests if r.action in ("confirm_match", "not_a_match")]
    high: set[str] = set()
    sides: dict[int, list[str]] = {}
    audited: set[int] = set()
    table = StewardTask.__table__
    for chunk in chunks([r.task_id for r in pairs]):
        for task_id, task_type, details in session.execute(
            sa.select(table.c.task_id, table.c.task_type, table.c.details).where(
                table.c.task_id.in_(chunk)
            )
        ):
            if task_type == "merge_audit":
                audited.add(task_id)
            details = details or {}
            sides[task_id] = [
                c for c in (details.get("left_customer_id"), details.get("right_customer_id")) if c
            ]
    if rules.tiers and any(r.action == "confirm_match" for r in pairs):
        high = _high_tier_customers(session, rules, {c for cs in sides.values() for c in cs})
    return [
        r.action in bulk.FAST_ACTIONS
        and r.task_id not in audited
        and not (r.action == "confirm_match" and any(c in high for c in sides.get(r.task_id, [])))
        for r in requests
    ]


def _runs(fast: Sequence[bool]) -> Iterator[tuple[bool, list[int]]]:
    """The requests' places in runs of the same path, in order (a later decision about the
    same pair must stay later)."""
    start = 0
    for end in range(1, len(fast) + 1):
        if end == len(fast) or fast[end] != fast[start]:
            yield fast[start], list(range(start, end))
            start = end


def _apply_all(
    session: Session, requests: Sequence[Request], *, by: str
) -> list[StewardDecision | bulk.WrittenDecision]:
    """Apply every request as its maker's decision: confirm, not-a-match and dismiss
    set-wise, the others one at a time, in order."""
    decisions: list[StewardDecision | bulk.WrittenDecision] = []
    fast = [r.action in bulk.FAST_ACTIONS for r in requests]
    for set_wise, places in _runs(fast):
        if set_wise:
            chosen = [requests[i] for i in places]
            decisions += bulk.apply_many(session, chosen, by=by, indexes=places)
            continue
        for index in places:
            try:
                decisions.append(apply(session, requests[index], by=by))
            except ReviewError as exc:
                raise DecisionError(index, exc) from exc
    return decisions


def apply(session: Session, request: Request, *, by: str) -> StewardDecision:
    """Run the action; every check and the audit are the action's own."""
    task = get_task(session, task_id=request.task_id)
    common: dict[str, Any] = {"task_id": request.task_id, "by": by, "reason": request.reason}
    if request.action == "confirm_match":
        return actions.confirm_match(session, **common)
    if request.action == "not_a_match":
        return actions.not_a_match(session, **common)
    if request.action == "dismiss":
        return actions.dismiss(session, task_id=request.task_id, by=by, reason=request.reason or "")
    customer_id = task.customer_id or ""
    if request.action == "split_customer":
        return actions.split_customer(
            session, customer_id=customer_id, records=list(request.records), **common
        )
    name = request.field or task.details.get("field") or ""
    change = actions.choose_value if request.action == "choose_value" else actions.correct_value
    return change(
        session,
        customer_id=customer_id,
        field=name,
        value=actions.parse_value(name, request.value or ""),
        **common,
    )


def _propose(
    session: Session, action: str, requests: Sequence[Request], *, by: str, because: str
) -> PendingChange:
    fast = [r.action in bulk.FAST_ACTIONS for r in requests]
    pending_after = dict.fromkeys(bulk.FAST_ACTIONS, "pending")
    for set_wise, places in _runs(fast):
        if set_wise:
            chosen = [requests[i] for i in places]
            bulk.check(session, chosen, indexes=places, status_after=pending_after)
            continue
        for index in places:
            try:
                _check(session, requests[index])
            except ReviewError as exc:
                raise DecisionError(index, exc) from exc
    single = requests[0] if len(requests) == 1 else None
    customers = _customers(session, single) if single else []
    change = PendingChange(
        action=action,
        customer_id=customers[0] if customers else None,
        task_ids=[r.task_id for r in requests],
        arguments={"decisions": [_arguments(r) for r in requests]},
        needs_approval_because=because[:200],
        reason=single.reason if single else f"bulk of {len(requests)} decisions",
        requested_by=by.strip(),
        requested_at=_now(),
        status="pending",
    )
    session.add(change)
    session.flush()
    bulk.hold(session, [r.task_id for r in requests])
    actions.record_decision(
        session,
        action="propose_change",
        by=by,
        task=get_task(session, task_id=single.task_id) if single else None,
        subject={"change_id": change.change_id, "action": action, "task_ids": change.task_ids},
        after={"needs_approval_because": change.needs_approval_because},
        reason=change.reason,
        status=None,
    )
    return change


def decide(session: Session, request: Request, *, by: str, rules: FourEyes) -> Outcome:
    """Apply a steward's decision, or hold it for a checker when it is risky."""
    because = why_approval(session, rules, request)
    if because is None:
        return Outcome([apply(session, request, by=by)])
    return Outcome([], _propose(session, request.action, [request], by=by, because=because))


def decide_many(
    session: Session, requests: Sequence[Request], *, by: str, rules: FourEyes
) -> Outcome:
    """A bulk action: over ``rules.bulk`` decisions it waits for a checker as one change;
    otherwise each decision is made (or held) on its own, and audited on its own."""
    if len(requests) > rules.bulk:
        because = f"bulk of {len(requests)} decisions (more than {rules.bulk})"
        return Outcome([], _propose(session, "bulk", requests, by=by, because=because))
    decisions: list[StewardDecision | bulk.WrittenDecision] = []
    pending = None
    for set_wise, places in _runs(_set_wise(session, rules, requests)):
        if set_wise:
            chosen = [requests[i] for i in places]
            decisions += bulk.apply_many(session, chosen, by=by, indexes=places)
            continue
        for index in places:
            try:
                outcome = decide(session, requests[index], by=by, rules=rules)
            except ReviewError as exc:
                raise DecisionError(index, exc) from exc
            decisions += outcome.decisions
            pending = outcome.pending or pending
    return Outcome(decisions, pending)


def _pending(session: Session, change_id: int, by: str) -> PendingChange:
    change = session.get(PendingChange, change_id)
    if change is None:
        raise ReviewError(f"no pending change {change_id}")
    if change.status != "pending":
        raise ReviewError(f"change {change_id} is already {change.status}")
    if not by.strip():
        raise ReviewError("say who checks (--by)")
    if by.strip() == change.requested_by:
        raise ReviewError(
            f"change {change_id} was made by {by.strip()}: a second steward checks it"
        )
    return change


def _reopen(session: Session, change: PendingChange) -> None:
    bulk.reopen(session, change.task_ids)


def approve(session: Session, *, change_id: int, by: str, reason: str | None = None) -> Outcome:
    """A second steward approves: the change is applied as its maker's decisions."""
    change = _pending(session, change_id, by)
    _reopen(session, change)
    requests = [_request(arguments) for arguments in change.arguments["decisions"]]
    decisions = _apply_all(session, requests, by=change.requested_by)
    _checked(session, change, "approved", by=by, reason=reason)
    actions.record_decision(
        session,
        action="approve_change",
        by=by,
        subject={"change_id": change.change_id, "decision_ids": [d.decision_id for d in decisions]},
        reason=reason,
        status=None,
    )
    return Outcome(decisions, change)


def reject(session: Session, *, change_id: int, by: str, reason: str) -> Outcome:
    """A second steward rejects: nothing changes, and the tasks are open again."""
    if not reason.strip():
        raise ReviewError("a rejection needs a reason")
    change = _pending(session, change_id, by)
    _reopen(session, change)
    _checked(session, change, "rejected", by=by, reason=reason)
    decision = actions.record_decision(
        session,
        action="reject_change",
        by=by,
        subject={"change_id": change.change_id, "task_ids": change.task_ids},
        reason=reason,
        status=None,
    )
    return Outcome([decision], change)


def _checked(
    session: Session, change: PendingChange, status: str, *, by: str, reason: str | None
) -> None:
    change.status, change.checked_by, change.checked_at = status, by.strip(), _now()
    change.check_reason = (reason or "").strip() or None
    session.flush()


def pending_changes(session: Session, *, limit: int = 200) -> list[PendingChange]:
    """Changes waiting for a checker, oldest first."""
    return list(
        session.scalars(
            sa.select(PendingChange)
            .where(PendingChange.status == "pending")
            .order_by(PendingChange.requested_at, PendingChange.change_id)
            .limit(limit)
        )
    )
