"""Four eyes (maker-checker): risky changes take effect only when a second steward approves
them; the maker cannot; both are audited (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers.stewardship import customer_of, customer_task, multi_record_customers, set_tier
from helpers.warehouse_io import run_into
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mdm.cli.app import app
from mdm.stewardship import approvals, queue
from mdm.testbed.generate import generate
from warehouse.db import create_warehouse_engine, migrate
from warehouse.models import Customer, PendingChange, StewardDecision

RULES = approvals.FourEyes(tiers=frozenset({"diamond", "platinum"}), bulk=2)


@pytest.fixture(scope="module")
def channels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("channels")
    generate(folder, customers=150, seed=11)
    return folder


def run(sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run_into(sources, url, monkeypatch, tmp_path, build_docs=False)


def actions_of(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        sa.select(StewardDecision.action, StewardDecision.decided_by).order_by(
            StewardDecision.decision_id
        )
    )
    return [(action, by) for action, by in rows]


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_platinum_customers_split_waits_for_a_checker_and_holds_once_approved(
    channels_dir: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run(channels_dir, warehouse_url, monkeypatch, tmp_path)
    engine = sa.create_engine(warehouse_url)
    with Session(engine) as session, session.begin():
        ids = customer_of(session)
        group, other = multi_record_customers(ids)[:2]
        platinum, ordinary = ids[group[0]], ids[other[0]]
        set_tier(session, platinum, "platinum")
        set_tier(session, ordinary, "standard")
        split_task = customer_task(session, platinum, "split")
        value_task = customer_task(session, platinum, "value")
        ordinary_task = customer_task(session, ordinary, "value")

    with Session(engine) as session, session.begin():
        split = approvals.Request(split_task, "split_customer", "a twin", records=(group[-1],))
        outcome = approvals.decide(session, split, by="li.na", rules=RULES)
        assert outcome.decisions == [] and outcome.pending is not None
        change_id = outcome.pending.change_id
        assert f"platinum customer {platinum}" in outcome.pending.needs_approval_because
        # an ordinary customer's value change is applied at once
        plain = approvals.Request(ordinary_task, "correct_value", "form", "email", "a@b.cn")
        assert approvals.decide(session, plain, by="li.na", rules=RULES).pending is None

    # no effect before approval: the records stay together, the task waits
    with Session(engine) as session:
        ids = customer_of(session)
        assert set(ids[group]) == {platinum}
        assert queue.get_task(session, task_id=split_task).status == "pending"
        assert ("split_customer", "li.na") not in actions_of(session)
        assert ("propose_change", "li.na") in actions_of(session)

    # the maker cannot approve (nor reject) their own change
    with Session(engine) as session, session.begin():
        with pytest.raises(queue.ReviewError, match="a second steward checks it"):
            approvals.approve(session, change_id=change_id, by="li.na")
        with pytest.raises(queue.ReviewError, match="a second steward checks it"):
            approvals.reject(session, change_id=change_id, by="li.na", reason="mine")
    with Session(engine) as session, session.begin():
        approved = approvals.approve(session, change_id=change_id, by="wang.fang", reason="seen")
        assert [d.action for d in approved.decisions] == ["split_customer"]
        assert approved.decisions[0].decided_by == "li.na"

    with Session(engine) as session:
        ids = customer_of(session)
        assert ids[group[-1]] != platinum and set(ids[group[:-1]]) == {platinum}
        change = session.get(PendingChange, change_id)
        assert change is not None and change.status == "approved"
        assert change.checked_by == "wang.fang" and change.requested_by == "li.na"
        trail = actions_of(session)
        assert trail.index(("propose_change", "li.na")) < trail.index(("split_customer", "li.na"))
        assert trail[-1] == ("approve_change", "wang.fang")

    # a rejected value change changes nothing and opens its task again
    with Session(engine) as session, session.begin():
        before = session.get(Customer, platinum)
        assert before is not None
        old_email = before.email
        wrong = approvals.Request(value_task, "correct_value", "told", "email", "x@y.cn")
        pending = approvals.decide(session, wrong, by="li.na", rules=RULES).pending
        assert pending is not None
        approvals.reject(session, change_id=pending.change_id, by="wang.fang", reason="no form")
    with Session(engine) as session:
        after = session.get(Customer, platinum)
        assert after is not None and after.email == old_email
        assert queue.get_task(session, task_id=value_task).status == "open"
        assert actions_of(session)[-1] == ("reject_change", "wang.fang")

    # the next run keeps the approved split
    run(channels_dir, warehouse_url, monkeypatch, tmp_path)
    with Session(engine) as session:
        ids = customer_of(session)
        assert ids[group[-1]] != platinum and set(ids[group[:-1]]) == {platinum}
    engine.dispose()


def test_a_bulk_over_the_limit_waits_and_the_cli_approves_it(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine = create_warehouse_engine(sqlite_url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        tasks = [customer_task(session, f"C{n:09d}", "bulk") for n in range(3)]
    monkeypatch.setenv("MDM_WAREHOUSE_URL", sqlite_url)
    monkeypatch.setenv("MDM_FOUR_EYES_BULK", "2")
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(
        "task_id,action,reason\n" + "".join(f"{t},dismiss,handled\n" for t in tasks),
        encoding="utf-8",
    )
    runner = CliRunner()
    held = runner.invoke(app, ["review", "resolve-csv", str(decisions), "--by", "li.na"])
    assert held.exit_code == 0, held.output
    assert "0 tasks decided" in held.output and "waits for a second steward" in held.output
    listed = runner.invoke(app, ["review", "pending"])
    assert "bulk of 3 decisions (more than 2)" in listed.output

    def statuses() -> set[str]:
        with Session(engine) as session:
            return {queue.get_task(session, task_id=t).status for t in tasks}

    assert statuses() == {"pending"}
    own = runner.invoke(app, ["review", "approve", "1", "--by", "li.na"])
    assert own.exit_code != 0 and "a second steward checks it" in own.output
    assert statuses() == {"pending"}
    done = runner.invoke(app, ["review", "approve", "1", "--by", "wang.fang"])
    assert done.exit_code == 0, done.output
    assert statuses() == {"dismissed"}
    with Session(engine) as session:
        trail = actions_of(session)
    # each task audited on its own, as the maker's decision, then the approval
    assert trail == [
        ("propose_change", "li.na"),
        ("dismiss", "li.na"),
        ("dismiss", "li.na"),
        ("dismiss", "li.na"),
        ("approve_change", "wang.fang"),
    ]
    engine.dispose()
