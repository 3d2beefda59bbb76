"""Steward decisions: each is audited, and each holds over later pipeline runs (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.stewardship import customer_of, multi_record_customers
from helpers.warehouse_io import run_into
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from flows.pipeline import RunSummary
from mdm.cli.app import app
from mdm.customer_ids import customer_number
from mdm.stewardship import actions, queue
from mdm.testbed.generate import generate
from warehouse.models import Customer, CustomerHistory, StewardDecision, StewardTask


@pytest.fixture(scope="module")
def channels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("channels")
    generate(folder, customers=150, seed=11)
    return folder


def run(sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunSummary:
    return run_into(sources, url, monkeypatch, tmp_path, build_docs=False)


def open_pair_task(session: Session, left: str, right: str, ids: pd.Series) -> int:
    """A possible_match task as the dedupe flow opens it, for a pair this test picks."""
    task = StewardTask(
        task_type="possible_match",
        task_key=f"possible_match:{left}:{right}",
        priority=2,
        customer_id=ids[left],
        details={
            "left": left,
            "right": right,
            "left_customer_id": ids[left],
            "right_customer_id": ids[right],
            "match_probability": 0.9,
            "match_weight": 3.0,
            "parts": {},
        },
        status="open",
        created_at=dt.datetime.now(dt.UTC),
        run_id="test",
    )
    session.add(task)
    session.flush()
    return task.task_id


@pytest.mark.usefixtures("prefect_harness")
def test_decisions_hold_over_two_later_runs(
    channels_dir: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run(channels_dir, warehouse_url, monkeypatch, tmp_path)
    engine = sa.create_engine(warehouse_url)
    with Session(engine) as session, session.begin():
        ids = customer_of(session)
        merged, split_group, corrected_group, lonely = (
            multi_record_customers(ids)[0],
            multi_record_customers(ids)[1],
            multi_record_customers(ids)[2],
            ids[~ids.duplicated(keep=False)].index,
        )
        # a pair the matcher merged is declared two people; two strangers, one person
        apart = open_pair_task(session, merged[0], merged[1], ids)
        actions.not_a_match(session, task_id=apart, by="li", reason="different mothers' names")
        together = open_pair_task(session, lonely[0], lonely[1], ids)
        actions.confirm_match(session, task_id=together, by="li", reason="same passport on file")
        corrected_id = ids[corrected_group[0]]
        actions.correct_value(
            session,
            customer_id=corrected_id,
            field="mobile",
            value="+8613900000001",
            by="li",
            reason="customer called",
        )
        split_id = ids[split_group[0]]
        highest = session.execute(sa.select(sa.func.max(Customer.customer_id))).scalar_one()
        actions.split_customer(
            session, customer_id=split_id, records=[split_group[-1]], by="li", reason="twin"
        )

    for _ in range(2):
        run(channels_dir, warehouse_url, monkeypatch, tmp_path)
        with Session(engine) as session:
            ids = customer_of(session)
            assert ids[merged[0]] != ids[merged[1]]
            assert ids[lonely[0]] == ids[lonely[1]]
            corrected = session.get(Customer, corrected_id)
            assert corrected is not None and corrected.mobile == "+8613900000001"
            assert corrected.field_sources["mobile"].startswith("steward:")
            moved = ids[split_group[-1]]
            assert moved != split_id and customer_number(moved) > customer_number(highest)
            assert set(ids[split_group[:-1]]) == {split_id}
            reopened = session.execute(
                sa.select(sa.func.count())
                .select_from(StewardTask)
                .where(StewardTask.task_id.in_([apart, together]), StewardTask.status != "resolved")
            ).scalar_one()
            assert reopened == 0
    engine.dispose()


@pytest.mark.usefixtures("prefect_harness")
def test_every_action_writes_its_audit_row(
    channels_dir: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run(channels_dir, warehouse_url, monkeypatch, tmp_path)
    engine = sa.create_engine(warehouse_url)
    with Session(engine) as session, session.begin():
        tasks = {
            kind: queue.list_tasks(session, where=queue.TaskFilter(task_type=kind), limit=2)
            for kind in ("possible_match", "conflict", "incomplete")
        }
        conflict = tasks["conflict"][0]
        offered = conflict.details["values"][0]["value"]
        done = [
            actions.confirm_match(session, task_id=tasks["possible_match"][0].task_id, by="a"),
            actions.not_a_match(session, task_id=tasks["possible_match"][1].task_id, by="b"),
            actions.choose_value(
                session,
                task_id=conflict.task_id,
                customer_id=conflict.customer_id,
                field=conflict.details["field"],
                value=actions.parse_value(conflict.details["field"], str(offered)),
                by="c",
                reason="branch saw the ID card",
            ),
            actions.dismiss(
                session, task_id=tasks["incomplete"][0].task_id, by="d", reason="known"
            ),
        ]
        before_mobile = session.get(Customer, tasks["incomplete"][1].customer_id).mobile
        corrected = actions.correct_value(
            session,
            task_id=tasks["incomplete"][1].task_id,
            customer_id=tasks["incomplete"][1].customer_id,
            field="mobile",
            value="+8613900000002",
            by="e",
            reason="from the signed form",
        )
        revealed = actions.reveal_field(
            session, customer_id=tasks["incomplete"][1].customer_id, field="mobile", by="f"
        )
        with pytest.raises(queue.ReviewError, match="already resolved"):
            actions.dismiss(session, task_id=conflict.task_id, by="g", reason="again")
        decided_tasks = {d.task_id for d in done} | {corrected.task_id}
        corrected_customer = corrected.subject["customer_id"]

    assert revealed == "+8613900000002"
    with Session(engine) as session:
        rows = (
            session.execute(sa.select(StewardDecision).order_by(StewardDecision.decision_id))
            .scalars()
            .all()
        )
        assert [(r.action, r.decided_by) for r in rows] == [
            ("confirm_match", "a"),
            ("not_a_match", "b"),
            ("choose_value", "c"),
            ("dismiss", "d"),
            ("correct_value", "e"),
            ("reveal", "f"),
        ]
        assert all(r.decided_at is not None for r in rows)
        assert rows[2].after == {"value": offered} and rows[2].reason == "branch saw the ID card"
        assert rows[4].before == {"value": before_mobile}
        assert rows[4].after == {"value": "+8613900000002"}
        assert rows[5].subject["field"] == "mobile" and rows[5].after is None  # no value kept
        statuses = {
            t.task_id: (t.status, t.resolved_by)
            for t in session.execute(sa.select(StewardTask)).scalars()
            if t.task_id in decided_tasks
        }
        assert sorted(statuses.values()) == sorted(
            [
                ("resolved", "a"),
                ("resolved", "b"),
                ("resolved", "c"),
                ("dismissed", "d"),
                ("resolved", "e"),
            ]
        )
        # the corrected value is in the warehouse at once, as a new history version
        versions = (
            session.execute(
                sa.select(CustomerHistory)
                .where(CustomerHistory.customer_id == corrected_customer)
                .order_by(CustomerHistory.history_id)
            )
            .scalars()
            .all()
        )
        assert versions[-1].fields["mobile"] == "+8613900000002"
        assert versions[-1].valid_to is None and versions[-2].valid_to is not None
    engine.dispose()


@pytest.mark.usefixtures("prefect_harness")
def test_review_cli_lists_shows_and_resolves_with_masked_identifiers(
    channels_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run(channels_dir, sqlite_url, monkeypatch, tmp_path)
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as connection:
        mobiles = (
            connection.execute(sa.text("SELECT mobile FROM customer WHERE mobile IS NOT NULL"))
            .scalars()
            .all()
        )
        task_id = connection.execute(
            sa.text("SELECT min(task_id) FROM steward_task WHERE task_type = 'possible_match'")
        ).scalar_one()
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "list", "--type", "possible_match"])
    shown = runner.invoke(app, ["review", "show", str(task_id)])
    assert listed.exit_code == 0 and f"{task_id:>7}  possible_match" in listed.output
    assert shown.exit_code == 0 and "why:" in shown.output
    for output in (listed.output, shown.output):
        assert not [m for m in mobiles if m in output]

    resolved = runner.invoke(
        app,
        [
            "review",
            "resolve",
            str(task_id),
            "--action",
            "not-a-match",
            "--by",
            "li",
            "--reason",
            "different people",
        ],
    )
    assert resolved.exit_code == 0, resolved.output
    assert f"task {task_id} resolved by li" in resolved.output
    again = runner.invoke(
        app,
        ["review", "resolve", str(task_id), "--action", "dismiss", "--by", "li", "--reason", "x"],
    )
    assert again.exit_code == 2 and f"task {task_id} is already resolved" in again.output
    engine.dispose()


@pytest.mark.usefixtures("prefect_harness")
def test_review_resolve_csv_decides_many_tasks_each_audited_or_none(
    channels_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run(channels_dir, sqlite_url, monkeypatch, tmp_path)
    engine = sa.create_engine(sqlite_url)

    def open_possible() -> list[int]:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    sa.text(
                        "SELECT task_id FROM steward_task WHERE task_type = 'possible_match'"
                        " AND status = 'open' ORDER BY task_id"
                    )
                ).scalars()
            )

    def decisions() -> int:
        with engine.connect() as connection:
            return int(
                connection.execute(sa.text("SELECT count(*) FROM steward_decision")).scalar_one()
            )

    first, second, *_ = open_possible()
    runner = CliRunner()
    # a bad row stops the whole file: the good row before it is not applied either
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"task_id,action,reason\n{first},not-a-match,different people\n{second},merge,oops\n",
        encoding="utf-8",
    )
    refused = runner.invoke(app, ["review", "resolve-csv", str(bad), "--by", "li"])
    assert refused.exit_code == 2
    assert "bad.csv row 3: action must be one of" in refused.output
    assert decisions() == 0 and open_possible()[:2] == [first, second]

    good = tmp_path / "good.csv"
    good.write_text(
        f"task_id,action,reason\n{first},not-a-match,different people\n{second},dismiss,seen\n",
        encoding="utf-8",
    )
    done = runner.invoke(app, ["review", "resolve-csv", str(good), "--by", "li"])
    assert done.exit_code == 0, done.output
    assert "2 tasks decided by li" in done.output
    assert decisions() == 2  # each task audited on its own
    assert first not in open_possible() and second not in open_possible()
    again = runner.invoke(app, ["review", "resolve-csv", str(good), "--by", "li"])
    assert again.exit_code == 2 and "good.csv row 2: " in again.output
    assert "nothing was changed" in again.output and decisions() == 2
    engine.dispose()
