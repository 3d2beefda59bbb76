"""The audit of automatic merges (issue 15): a stratified, seeded sample of each run's merges
becomes merge_audit tasks, the verdicts give a precision with a 95% interval, and a "not the
same" verdict splits the pair on the next run."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from helpers.stewardship import customer_of, set_tier
from helpers.warehouse_io import run_into
from sqlalchemy.orm import Session

from flows.run_report import audit_section, precision_text
from mdm.matching.audit import (
    BAND_EDGES,
    allocate,
    automatic_merges,
    band_of,
    estimate_precision,
    sample_merges,
    wilson,
)
from mdm.matching.profile import match_weight
from mdm.stewardship import approvals
from mdm.stewardship.merge_audit import run_precision
from mdm.testbed.generate import generate
from warehouse.models import MergeAuditSample, PipelineRun, StewardTask
from web.app import create_app
from web.auth import add_user

UPPER = 0.99
NOBODY_CHECKS = approvals.FourEyes(frozenset(), 10_000)
PLATINUM_CHECKED = approvals.FourEyes(frozenset({"platinum"}), 10_000)


def band(population: int, verdicts: int, correct: int) -> dict[str, int]:
    return {"population": population, "verdicts": verdicts, "correct": correct}


def test_one_band_is_a_plain_wilson_interval() -> None:
    # 27 of 30 in one band of a large population: the textbook Wilson interval
    precision = estimate_precision([band(1_000_000, 30, 27)])
    assert precision.estimate == pytest.approx(0.9)
    assert precision.low == pytest.approx(0.7438, abs=1e-4)
    assert precision.high == pytest.approx(0.9654, abs=1e-4)


def test_bands_are_weighted_by_their_populations() -> None:
    # a wrong merge in the small band near the threshold weighs a tenth of one in the large one
    near, far = band(1_000, 10, 8), band(9_000, 10, 10)
    precision = estimate_precision([near, far])
    assert precision.estimate == pytest.approx(0.1 * 0.8 + 0.9 * 1.0)
    variance = 0.1**2 * 0.8 * 0.2 / 10 * (1 - 10 / 1_000)
    effective = min(0.98 * 0.02 / variance, 20)
    assert (precision.low, precision.high) == pytest.approx(wilson(0.98, effective))
    assert precision.low < precision.estimate < precision.high


def test_all_correct_verdicts_are_no_certainty() -> None:
    precision = estimate_precision([band(500, 15, 15), band(5_000, 15, 15)])
    assert precision.estimate == 1.0 and precision.high == pytest.approx(1.0)
    assert precision.low == pytest.approx(wilson(1.0, 30)[0])
    assert 0.85 < precision.low < 0.9


def test_too_few_verdicts_give_no_estimate() -> None:
    none = estimate_precision([band(100, 0, 0), band(400, 0, 0)])
    assert none.estimate is None and none.reason is not None
    assert none.reason.startswith("not enough verdicts")
    # enough in all, but one band with merges has no verdict: its precision is unknown
    lopsided = estimate_precision([band(100, 0, 0), band(400, 12, 12)])
    assert lopsided.estimate is None and "1 band(s) without a verdict" in str(lopsided.reason)
    assert estimate_precision([band(0, 0, 0)]).reason == "no automatic merges"
    section = audit_section(
        {
            "merge_audit": {
                "bands": [{**band(3, 0, 0), "band": 0, "low": 6.6, "high": None, "sampled": 3}]
            }
        }
    )
    assert "not enough verdicts" in section


def merged_pairs(n_per_band: list[int], seed: int = 3) -> pd.DataFrame:
    """Automatic merges with weights spread over the bands, in a random order."""
    start = match_weight(UPPER)
    edges = [*BAND_EDGES, 30.0]
    rng = np.random.default_rng(seed)
    weights = np.concatenate(
        [rng.uniform(start + lo, start + hi, n) for lo, hi, n in zip(edges, edges[1:], n_per_band)]
    )
    n = len(weights)
    return pd.DataFrame(
        {
            "left_key": [f"app:{i:05d}" for i in range(n)],
            "right_key": [f"branch:{i:05d}" for i in range(n)],
            "match_weight": weights,
            "match_probability": 1 / (1 + 2.0**-weights),
            "rules": "id",
            "decision": "match",
        }
    ).sample(frac=1.0, random_state=seed)


def test_the_sample_is_spread_over_the_bands_and_the_same_on_every_run() -> None:
    merged = merged_pairs([40, 3, 200, 1000])
    sample = sample_merges(merged, upper=UPPER, size=20, seed=7)
    # even allocation: the band of 3 gives all it has, the others share what it leaves
    assert [b["population"] for b in sample.bands] == [40, 3, 200, 1000]
    assert [b["sampled"] for b in sample.bands] == [6, 3, 6, 5]
    assert sample.pairs["band"].value_counts().sort_index().tolist() == [6, 3, 6, 5]
    assert (band_of(sample.pairs["match_weight"].to_numpy(), UPPER) == sample.pairs["band"]).all()
    # reproducible whatever the pairs' order, and another seed draws other pairs
    again = sample_merges(merged.sample(frac=1.0, random_state=1), upper=UPPER, size=20, seed=7)
    assert set(again.pairs["left_key"]) == set(sample.pairs["left_key"])
    other = sample_merges(merged, upper=UPPER, size=20, seed=8)
    assert set(other.pairs["left_key"]) != set(sample.pairs["left_key"])
    # a pair stays drawn while it stays in its band: new merges leave most of the draw as it was
    grown = pd.concat(
        [
            merged,
            merged_pairs([0, 0, 0, 50], seed=9).assign(left_key=lambda f: "new" + f["left_key"]),
        ]
    )
    kept = set(sample_merges(grown, upper=UPPER, size=20, seed=7).pairs["left_key"])
    assert len(kept & set(sample.pairs["left_key"])) >= 15
    assert allocate([0, 0, 0, 0], 20) == [0, 0, 0, 0]
    assert allocate([2, 2, 2, 2], 20) == [2, 2, 2, 2]


def test_automatic_merges_leave_out_decided_and_steward_pairs() -> None:
    pairs = pd.DataFrame(
        {
            "left_key": ["a:1", "a:2", "a:3", "a:4", "a:5"],
            "right_key": ["b:1", "b:2", "b:3", "b:4", "b:5"],
            "match_probability": [0.999, 0.999, 0.95, 0.999, 0.999],
            "rules": ["id", "id", "id", "steward", "id"],
            "decision": ["match", "match", "match", "match", "possible"],
        }
    )
    merged = automatic_merges(pairs, upper=UPPER, decided=[("b:2", "a:2")])
    # a:2 was confirmed by a steward, a:3 joined only through others, a:4 a steward's pair,
    # a:5 was kept apart
    assert merged["left_key"].tolist() == ["a:1"]


@pytest.fixture(scope="module")
def channels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("channels")
    generate(folder, customers=150, seed=11)
    return folder


def audit_tasks(session: Session) -> list[StewardTask]:
    return list(
        session.scalars(
            sa.select(StewardTask)
            .where(StewardTask.task_type == "merge_audit")
            .order_by(StewardTask.task_id)
        )
    )


PASSWORD = "a long password 1"


def workbench_pages(url: str, run_id: str, task_ids: list[int]) -> dict[str, str]:
    """What a steward sees: the Runs page, the run's page with a what-if, an audit task (the
    last of them answered from its page: same person)."""
    app = create_app(url)
    with TestClient(app) as client:
        login = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": "li.na", "password": PASSWORD, "csrf_token": token})
        task = client.get(f"/tasks/{task_ids[-1]}").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', task).group(1)  # type: ignore[union-attr]
        decided = client.post(
            f"/tasks/{task_ids[-1]}/decide", data={"action": "confirm", "csrf_token": token}
        )
        assert '<strong id="status">resolved</strong>' in decided.text  # after the redirect
        pages = {
            "task": task,
            "runs": client.get("/runs").text,
            "run": client.get(f"/runs/{run_id}").text,
            "what-if": client.get(f"/runs/{run_id}?upper=0.99&lower=0.5").text,
        }
    app.state.engine.dispose()
    return pages


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_audits_its_merges_and_not_the_same_splits_them_on_the_next_run(
    channels_dir: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = run_into(channels_dir, warehouse_url, monkeypatch, tmp_path, build_docs=False)
    audit = first.merge_audit
    assert audit["sample_size"] == 30 and first.tasks_by_type["merge_audit"] == 30
    assert sum(b["sampled"] for b in audit["bands"]) == 30
    assert sum(b["population"] for b in audit["bands"]) == audit["merges"] > 30
    engine = sa.create_engine(warehouse_url)
    with Session(engine) as session, session.begin():
        tasks = audit_tasks(session)
        assert len(tasks) == 30
        tasks_ids = [t.task_id for t in tasks]
        drawn = session.scalars(
            sa.select(MergeAuditSample.task_key).where(MergeAuditSample.run_id == first.run_id)
        ).all()
        assert set(drawn) == {t.task_key for t in tasks}
        ids = customer_of(session)
        for task in tasks:  # each pair is one customer now, as the task says
            assert ids[task.details["left"]] == ids[task.details["right"]] == task.customer_id
            assert task.details["band"] in range(len(BAND_EDGES))
        run = session.get(PipelineRun, first.run_id)
        assert run is not None
        counts = dict(run.counts)
        bands, precision = run_precision(session, run_id=first.run_id, counts=counts) or (
            [],
            None,
        )
        assert precision is not None and precision.estimate is None  # nothing answered yet
        # a steward answers: one pair is not the same person, the others are
        pairs = [(t.details["left"], t.details["right"]) for t in tasks]
        keys = {t.task_key for t in tasks}
        wrong = pairs[0]
        add_user(session, username="li.na", password=PASSWORD, role="steward")
        for task, pair in zip(tasks[1:-1], pairs[1:-1], strict=True):
            request = approvals.Request(task.task_id, "confirm_match", "checked the documents")
            approvals.decide(session, request, by="li.na", rules=NOBODY_CHECKS)
        # not the same person splits a customer: on a platinum one it waits for a checker
        set_tier(session, tasks[0].customer_id or "", "platinum")
        split = approvals.Request(tasks[0].task_id, "not_a_match", "two brothers")
        held = approvals.decide(session, split, by="li.na", rules=PLATINUM_CHECKED)
        assert held.pending is not None and not held.decisions
        assert tasks[0].status == "pending"
        approvals.approve(session, change_id=held.pending.change_id, by="wang.wei")
        assert tasks[0].status == "resolved"
    monkeypatch.setenv("MDM_FOUR_EYES_TIERS", "[]")  # this customer's tier needs no checker
    shown = workbench_pages(warehouse_url, first.run_id, tasks_ids)
    with Session(engine) as session:
        bands, precision = run_precision(session, run_id=first.run_id, counts=counts) or (
            [],
            None,
        )
    assert precision is not None and precision.verdicts == 30 and precision.correct == 29
    assert precision.estimate is not None and precision.low is not None
    assert precision.low < precision.estimate < 1.0
    assert sum(b["verdicts"] for b in bands) == 30
    assert f"estimated precision {precision_text(precision)}" in shown["runs"]
    assert 'id="audit-bands"' in shown["run"] and precision_text(precision) in shown["run"]
    assert 'id="what-if-table"' in shown["what-if"] and "possible-match tasks" in shown["what-if"]
    assert "Same person: keep merged" in shown["task"] and "band" in shown["task"]

    second = run_into(channels_dir, warehouse_url, monkeypatch, tmp_path, build_docs=False)
    with Session(engine) as session:
        ids = customer_of(session)
        assert ids[wrong[0]] != ids[wrong[1]]
        # the confirmed pairs are steward pairs now: neither drawn again nor split
        assert all(ids[left] == ids[right] for left, right in pairs[1:])
        redrawn = session.scalars(
            sa.select(MergeAuditSample.task_key).where(MergeAuditSample.run_id == second.run_id)
        ).all()
        assert not set(redrawn) & keys
    engine.dispose()


@pytest.mark.usefixtures("prefect_harness")
def test_an_audit_of_no_pairs_is_switched_off_in_matching_yaml(
    channels_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(channels_dir, sources)
    (sources / "matching.yaml").write_text("audit:\n  sample_size: 0\n", encoding="utf-8")
    summary = run_into(sources, sqlite_url, monkeypatch, tmp_path, build_docs=False)
    assert summary.merge_audit == {} and "merge_audit" not in summary.tasks_by_type
