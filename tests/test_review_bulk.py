"""Bulk decisions written set-wise (mdm/stewardship/bulk.py): one audited decision per task,
the same outcome as one decision at a time, four eyes as before (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.stewardship import approvals
from mdm.stewardship.actions import assign_tasks
from mdm.stewardship.bulk import DecisionError
from warehouse.db import create_warehouse_engine, migrate
from warehouse.models import CustomerSegment, PendingChange, StewardDecision, StewardTask
from warehouse.state import _pair_decisions

NO_CHECKER = approvals.FourEyes(tiers=frozenset(), bulk=1_000)
CHECKER_OVER_5 = approvals.FourEyes(tiers=frozenset({"platinum"}), bulk=5)


@pytest.fixture
def session(warehouse_url: str) -> Iterator[Session]:
    """Ten possible matches (pairs app:N ↔ branch:N) and five incomplete tasks, open."""
    engine = create_warehouse_engine(warehouse_url)
    migrate(engine)
    now = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = []
    for n in range(10):
        rows.append(
            {
                "task_type": "possible_match",
                "task_key": f"possible_match:app:{n}:branch:{n}",
                "details": {
                    "left": f"app:{n}",
                    "right": f"branch:{n}",
                    "left_customer_id": f"C{n:09d}",
                    "right_customer_id": f"C{n + 100:09d}",
                    "match_probability": 0.9,
                },
                "rule": "possible_match",
                "assigned_to": None,
            }
        )
    for n in range(5):
        rows.append(
            {
                "task_type": "incomplete",
                "task_key": f"incomplete:C{n:09d}:mobile_present",
                "details": {"field": "mobile", "rule": "mobile_present", "message": "no mobile"},
                "rule": "mobile_present",
                "assigned_to": "team-a" if n % 2 else None,
            }
        )
    with engine.begin() as connection:
        connection.execute(
            sa.insert(StewardTask),
            [
                {"status": "open", "priority": 2, "created_at": now, "run_id": "t", **row}
                for row in rows
            ],
        )
    with Session(engine) as session:
        yield session
    engine.dispose()


def _requests(session: Session) -> list[approvals.Request]:
    """Confirm the even pairs, not-a-match the odd ones, dismiss the incomplete tasks."""
    tasks = session.execute(
        sa.select(StewardTask.task_id, StewardTask.task_type).order_by(StewardTask.task_id)
    ).all()
    return [
        approvals.Request(
            task_id,
            "dismiss"
            if task_type != "possible_match"
            else ("confirm_match" if index % 2 == 0 else "not_a_match"),
            f"reason {index}",
        )
        for index, (task_id, task_type) in enumerate(tasks)
    ]


def _written(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Decisions and tasks as written, without ids and clocks."""
    decisions = session.execute(
        sa.select(
            StewardDecision.task_id,
            StewardDecision.action,
            StewardDecision.subject,
            StewardDecision.before,
            StewardDecision.after,
            StewardDecision.reason,
            StewardDecision.decided_by,
        ).order_by(StewardDecision.decision_id)
    ).all()
    tasks = session.execute(
        sa.select(
            StewardTask.task_id,
            StewardTask.status,
            StewardTask.resolved_by,
            StewardTask.resolved_at.is_not(None),
        ).order_by(StewardTask.task_id)
    ).all()
    return [tuple(row) for row in decisions], [tuple(row) for row in tasks]


def test_a_bulk_writes_one_decision_per_task_with_its_before_and_after(session: Session) -> None:
    requests = _requests(session)
    outcome = approvals.decide_many(session, requests, by="li.na", rules=NO_CHECKER)
    session.commit()
    assert outcome.pending is None and len(outcome.decisions) == len(requests) == 15
    decisions, tasks = _written(session)
    assert [d[0] for d in decisions] == [r.task_id for r in requests]
    first_pair, second_pair, first_dismissal = decisions[0], decisions[1], decisions[10]
    assert first_pair[1:] == (
        "confirm_match",
        {"left": "app:0", "right": "branch:0"},
        {"left_customer_id": "C000000000", "right_customer_id": "C000000100"},
        {"same_person": True},
        "reason 0",
        "li.na",
    )
    assert second_pair[1] == "not_a_match" and second_pair[4] == {"same_person": False}
    assert first_dismissal[1:3] == ("dismiss", {"task_key": "incomplete:C000000000:mobile_present"})
    assert first_dismissal[3] is None and first_dismissal[4] is None
    statuses = [status for _, status, _, _ in tasks]
    assert statuses == ["resolved"] * 10 + ["dismissed"] * 5
    assert all(by == "li.na" and resolved for _, _, by, resolved in tasks)
    # what the next run reads: confirmed pairs are must-links, the others cannot-links
    must, cannot = _pair_decisions(session)
    assert sorted(must) == [(f"app:{n}", f"branch:{n}") for n in range(0, 10, 2)]
    assert sorted(cannot) == [(f"app:{n}", f"branch:{n}") for n in range(1, 10, 2)]


def test_a_bulk_writes_what_one_decision_at_a_time_writes(session: Session) -> None:
    requests = _requests(session)
    for request in requests:
        approvals.decide(session, request, by="li.na", rules=NO_CHECKER)
    one_at_a_time = _written(session)
    session.rollback()
    assert _written(session)[0] == []
    approvals.decide_many(session, requests, by="li.na", rules=NO_CHECKER)
    assert _written(session) == one_at_a_time


def test_a_bulk_over_the_count_waits_and_its_approval_applies_it_set_wise(
    session: Session,
) -> None:
    requests = _requests(session)
    outcome = approvals.decide_many(session, requests, by="li.na", rules=CHECKER_OVER_5)
    session.commit()
    assert outcome.decisions == [] and outcome.pending is not None
    change_id = outcome.pending.change_id
    statuses = session.scalars(sa.select(StewardTask.status)).all()
    assert set(statuses) == {"pending"}
    with pytest.raises(approvals.ReviewError, match="second steward"):
        approvals.approve(session, change_id=change_id, by="li.na")
    approved = approvals.approve(session, change_id=change_id, by="wang.fang")
    session.commit()
    decisions, tasks = _written(session)
    applied = [d for d in decisions if d[1] in ("confirm_match", "not_a_match", "dismiss")]
    assert [d[0] for d in applied] == [r.task_id for r in requests]
    assert {d[6] for d in applied} == {"li.na"}  # applied as the maker's decisions
    assert [status for _, status, _, _ in tasks] == ["resolved"] * 10 + ["dismissed"] * 5
    audit = session.scalars(
        sa.select(StewardDecision).where(StewardDecision.action == "approve_change")
    ).one()
    assert audit.decided_by == "wang.fang"
    assert audit.subject["decision_ids"] == [d.decision_id for d in approved.decisions]
    assert session.get(PendingChange, change_id).status == "approved"  # type: ignore[union-attr]


def test_one_task_that_cannot_be_decided_stops_the_bulk_naming_it(session: Session) -> None:
    requests = _requests(session)
    approvals.decide(session, requests[3], by="li.na", rules=NO_CHECKER)
    session.commit()
    with pytest.raises(DecisionError, match="already resolved") as failed:
        approvals.decide_many(session, requests, by="wang.fang", rules=NO_CHECKER)
    assert failed.value.index == 3
    session.rollback()
    assert len(_written(session)[0]) == 1
    wrong = [*requests[:2], approvals.Request(requests[12].task_id, "confirm_match", "x")]
    with pytest.raises(DecisionError, match="incomplete task, not a pair") as failed:
        approvals.decide_many(session, wrong, by="wang.fang", rules=NO_CHECKER)
    assert failed.value.index == 2
    session.rollback()
    silent = [approvals.Request(requests[12].task_id, "dismiss", " ")]
    with pytest.raises(DecisionError, match="a dismissal needs a reason"):
        approvals.decide_many(session, silent, by="wang.fang", rules=NO_CHECKER)


def test_verdicts_on_audited_merges_in_a_bulk_keep_their_four_eyes(session: Session) -> None:
    """A CSV of verdicts may hold audited merges: "not the same" on a platinum customer's
    splits it and waits for a checker, as one decision would; the rest are decided."""
    requests = _requests(session)[:4]  # confirm, not-a-match, confirm, not-a-match
    for request, customer in ((requests[1], "C000000001"), (requests[2], "C000000002")):
        session.execute(
            sa.update(StewardTask)
            .where(StewardTask.task_id == request.task_id)
            .values(task_type="merge_audit", rule="merge_audit", customer_id=customer)
        )
    session.add(
        CustomerSegment(
            customer_id="C000000001",
            segment_type="value_tier",
            segment_value="platinum",
            rule_version="t",
            assigned_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
    )
    platinum = approvals.FourEyes(tiers=frozenset({"platinum"}), bulk=1_000)
    outcome = approvals.decide_many(session, requests, by="wang.fang", rules=platinum)
    assert outcome.pending is not None and len(outcome.decisions) == 3
    status = dict(
        session.execute(
            sa.select(StewardTask.task_id, StewardTask.status).where(
                StewardTask.task_id.in_([r.task_id for r in requests])
            )
        ).all()
    )
    assert [status[r.task_id] for r in requests] == ["resolved", "pending", "resolved", "resolved"]


def test_a_bulk_assignment_audits_each_task_with_whom_it_had(session: Session) -> None:
    ids = list(
        session.scalars(
            sa.select(StewardTask.task_id)
            .where(StewardTask.task_type == "incomplete")
            .order_by(StewardTask.task_id)
        )
    )
    assert assign_tasks(session, task_ids=ids, to="zhao.lei", by="li.na", reason="cover") == 5
    session.commit()
    rows = session.execute(
        sa.select(StewardDecision.task_id, StewardDecision.before, StewardDecision.after)
        .where(StewardDecision.action == "assign_task")
        .order_by(StewardDecision.decision_id)
    ).all()
    assert [task_id for task_id, _, _ in rows] == ids
    assert [before["assigned_to"] for _, before, _ in rows] == [None, "team-a"] * 2 + [None]
    assert {after["assigned_to"] for _, _, after in rows} == {"zhao.lei"}
    assigned = session.scalars(
        sa.select(StewardTask.assigned_to).where(StewardTask.task_id.in_(ids))
    )
    assert set(assigned) == {"zhao.lei"}
