"""A queue at bank scale (issue 15): tasks grouped by rule, filtered by branch and relationship
manager, worked in bulk (each task audited, large bulks under four eyes) and assigned, on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bench.queue import fill
from mdm.cli.app import app
from mdm.stewardship.queue import (
    TaskFilter,
    count_tasks,
    list_tasks,
    task_groups,
    today_summary,
)
from mdm.stewardship.tasks import due_on, new_task, route_tasks
from warehouse.models import Customer


@pytest.fixture
def url(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    fill(warehouse_url, tasks=1000)  # 200 of each type over 500 customers in 20 branches
    monkeypatch.setenv("MDM_WAREHOUSE_URL", warehouse_url)
    return warehouse_url


def count(url: str, query: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        found = int(connection.execute(sa.text(query)).scalar_one())
    engine.dispose()
    return found


def test_tasks_group_by_rule_and_filter_by_branch_and_manager(url: str) -> None:
    engine = sa.create_engine(url)
    with Session(engine) as session:
        groups = {(g.task_type, g.rule): g.tasks for g in task_groups(session)}
        assert groups[("compliance", "risk_assessment_expired")] == 200
        assert groups[("incomplete", "mobile_present")] == 200
        assert sum(groups.values()) == 1000
        branch = TaskFilter(branch="B007")
        found = list_tasks(session, where=branch, limit=1000)
        owners = {t.customer_id for t in found}
        assert found and {
            session.get(Customer, c).branch_code  # type: ignore[union-attr]
            for c in owners
        } == {"B007"}
        assert count_tasks(session, where=branch) == len(found) < 1000
        both = TaskFilter(branch="B007", relationship_manager="RM07")
        assert 0 < count_tasks(session, where=both) < count_tasks(session, where=branch)
        assert sum(g.tasks for g in task_groups(session, where=branch)) == len(found)
    engine.dispose()


def test_a_bulk_dismiss_audits_each_task_and_a_large_one_waits(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    selected = "type=compliance and branch B005"
    args = ["review", "bulk", "--type", "compliance", "--branch", "B005"]
    args += ["--action", "dismiss", "--by", "li.na", "--reason", "reassessed at the branch"]
    in_branch = (
        "SELECT count(*) FROM steward_task t JOIN customer c ON c.customer_id = t.customer_id"
        " WHERE t.task_type = 'compliance' AND c.branch_code = 'B005' AND t.status = '{}'"
    )
    selected_count = count(url, in_branch.format("open"))
    assert selected_count > 2, selected

    monkeypatch.setenv("MDM_FOUR_EYES_BULK", "2")
    held = runner.invoke(app, args)
    assert held.exit_code == 0, held.output
    assert "waits for a second steward" in held.output
    assert count(url, in_branch.format("pending")) == selected_count
    assert count(url, "SELECT count(*) FROM pending_change WHERE status = 'pending'") == 1

    monkeypatch.setenv("MDM_FOUR_EYES_BULK", "100000")
    done = runner.invoke(
        app, ["review", "bulk", "--type", "incomplete", "--branch", "B003"] + args[6:]
    )
    assert done.exit_code == 0, done.output
    dismissed = count(
        url,
        "SELECT count(*) FROM steward_task WHERE status = 'dismissed' AND task_type = 'incomplete'",
    )
    assert dismissed > 0 and f"{dismissed:,} of {dismissed:,} tasks decided" in done.output
    # each task audited on its own; nothing outside the filter changed
    assert count(url, "SELECT count(*) FROM steward_decision WHERE action = 'dismiss'") == dismissed
    assert count(url, "SELECT count(*) FROM steward_task WHERE status = 'open'") == (
        1000 - selected_count - dismissed
    )
    unfiltered = runner.invoke(app, ["review", "bulk"] + args[6:])
    assert unfiltered.exit_code != 0 and "needs a filter" in unfiltered.output


def test_assigning_a_filtered_set_gives_each_task_an_owner_and_an_audit_row(url: str) -> None:
    runner = CliRunner()
    given = runner.invoke(
        app,
        ["review", "assign", "--rule", "risk_assessment_expired", "--rm", "RM15"]
        + ["--to", "team.compliance", "--by", "zhao.lei"],
    )
    assert given.exit_code == 0, given.output
    assigned = count(url, "SELECT count(*) FROM steward_task WHERE assigned_to = 'team.compliance'")
    assert assigned > 0 and f"{assigned:,} tasks assigned" in given.output
    assert count(url, "SELECT count(*) FROM steward_decision WHERE action = 'assign_task'") == (
        assigned
    )
    listed = runner.invoke(app, ["review", "list", "--assigned", "team.compliance", "--limit", "5"])
    assert f"{assigned:,} open task(s)" in listed.output and "due " in listed.output
    groups = runner.invoke(app, ["review", "groups", "--rm", "RM15"])
    assert "risk_assessment_expired" in groups.output
    late = count(
        url,
        "SELECT count(*) FROM steward_task WHERE assigned_to = 'team.compliance'"
        f" AND status = 'open' AND due_on < '{dt.date.today().isoformat()}'",
    )
    overdue = runner.invoke(
        app, ["review", "list", "--assigned", "team.compliance", "--due", "overdue"]
    )
    assert overdue.exit_code == 0 and f"{late:,} open task(s)" in overdue.output
    wrong = runner.invoke(app, ["review", "list", "--due", "tomorrow"])
    assert wrong.exit_code != 0 and "--due takes overdue or today" in wrong.output


def test_a_new_task_has_its_rule_and_a_due_date_from_its_priority() -> None:
    urgent = new_task("compliance", key=("C1",), priority=1, details={"rule": "x_expired"})
    later = new_task("conflict", key=("C1", "mobile"), priority=3, details={"field": "mobile"})
    assert urgent["rule"] == "x_expired" and later["rule"] == "mobile_disagrees"
    assert urgent["due_on"] == dt.date.today() + dt.timedelta(days=3)
    assert later["due_on"] - urgent["due_on"] == dt.timedelta(days=11)


def test_due_dates_follow_priority_value_tier_and_deadline() -> None:
    opened = dt.date(2026, 3, 2)
    assert due_on(2, opened) == dt.date(2026, 3, 9)
    # a diamond or platinum customer's task is due in half the days, at least one
    assert due_on(2, opened, tier="diamond") == due_on(2, opened, tier="platinum")
    assert due_on(2, opened, tier="platinum") == dt.date(2026, 3, 5)
    assert due_on(1, opened, tier="diamond") == dt.date(2026, 3, 3)
    assert due_on(2, opened, tier="standard") == due_on(2, opened)
    # a deadline sooner than the priority's wins; a later one changes nothing
    assert due_on(3, opened, deadline=dt.date(2026, 3, 4)) == dt.date(2026, 3, 4)
    assert due_on(1, opened, deadline=dt.date(2026, 4, 1)) == dt.date(2026, 3, 5)
    # a deadline already past: due the day it is opened, overdue from the next
    assert due_on(2, opened, deadline=dt.date(2025, 12, 31)) == opened


def test_a_compliance_follow_up_goes_to_the_customers_manager_with_its_deadline() -> None:
    expired = new_task(
        "compliance",
        key=("C1", "risk_assessment_expired", "2024-01-01"),
        priority=2,
        customer_id="C1",
        details={"rule": "risk_assessment_expired", "deadline": "2024-12-31"},
    )
    other = new_task("compliance", key=("C2", "x"), priority=1, customer_id="C2", details={})
    conflict = new_task("conflict", key=("C1", "mobile"), priority=2, customer_id="C1", details={})
    taken = {**other, "assigned_to": "zhao.lei"}
    opened = dt.date(2026, 3, 2)
    routed = route_tasks(
        [expired, other, conflict, taken],
        tiers={"C1": "diamond", "C2": "standard"},
        managers={"C1": "RM07"},
        opened=opened,
    )
    assert [t["assigned_to"] for t in routed] == ["RM07", None, None, "zhao.lei"]
    assert routed[0]["due_on"] == opened  # its expiry has passed
    assert routed[1]["due_on"] == opened + dt.timedelta(days=3)
    assert routed[2]["due_on"] == opened + dt.timedelta(days=3)  # diamond: half of 7 days


def test_the_queue_shows_what_is_overdue_and_due_today(url: str) -> None:
    engine = sa.create_engine(url)
    today = dt.date.today()
    with Session(engine) as session:
        overdue = list_tasks(session, where=TaskFilter(due="overdue"), limit=2000)
        today_ = list_tasks(session, where=TaskFilter(due="today"), limit=2000)
        assert overdue and all(t.due_on < today for t in overdue)
        assert today_ and all(t.due_on == today for t in today_)
        assert count_tasks(session, where=TaskFilter(due="overdue")) == len(overdue)
    engine.dispose()


def test_the_first_screen_says_what_is_late_due_today_and_ones_own(url: str) -> None:
    from fastapi.testclient import TestClient

    from bench.queue import PASSWORD
    from web.app import create_app

    engine = sa.create_engine(url)
    with Session(engine) as session:
        today = today_summary(session, user="bench")
        late = count_tasks(session, where=TaskFilter(due="overdue"))
        mine = count_tasks(session, where=TaskFilter(assigned_to="bench"))
    engine.dispose()
    assert today.overdue == late > 0 and today.mine == mine > 0 and today.due_today > 0
    assert 0 < today.mine_overdue < today.mine
    app = create_app(url)
    with TestClient(app) as client:
        token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
        page = client.get("/").text
        assert f"{today.overdue:,} overdue" in page and f"{today.due_today:,} due today" in page
        assert f"your work: {today.mine:,}" in page
        overdue = client.get("/?due=overdue&type=conflict&channel=app").text
        assert "tasks past their due date" in overdue and 'id="bulk"' in overdue
        assert 'name="channel" value="app"' in overdue and 'name="due" value="overdue"' in overdue
        assert 'id="bulk"' not in client.get("/?type=conflict&q=王伟").text  # a search: no bulk
        shown = TaskFilter(task_type="conflict", channel="app", due="overdue")
        with Session(app.state.engine) as session:
            selected = count_tasks(session, where=shown)
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"csrf_token": csrf, "action": "dismiss", "reason": "stale", "task_type": "conflict"}
        done = client.post("/bulk", data={**form, "channel": "app", "due": "overdue"})
        assert done.status_code in (200, 303)
        # the bulk acts on exactly the tasks the page showed, not every overdue conflict
        dismissed = count(url, "SELECT count(*) FROM steward_task WHERE status = 'dismissed'")
        assert (
            0
            < dismissed
            == selected
            < count(url, "SELECT count(*) FROM steward_task WHERE task_type = 'conflict'")
        )
    app.state.engine.dispose()
