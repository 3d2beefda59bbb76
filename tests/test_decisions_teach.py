"""Steward decisions teach the matcher (issue 15): decisions on one delivery change how a second
delivery of new people is matched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.warehouse_io import read, run_into, split_by_person
from sqlalchemy.orm import Session

from mdm.matching.labels import (
    MAX_CORRECTION,
    Labels,
    correction,
    find_labels,
    learnt_lower,
    review_changes,
)
from mdm.stewardship.actions import confirm_match, not_a_match
from mdm.testbed.evaluate import Evaluation, pairwise_scores, read_predicted, read_truth
from mdm.testbed.generate import generate
from warehouse.models import StewardTask


def decide_every_possible_match(url: str, truth: pd.Series) -> tuple[int, int]:
    """A steward who knows the truth works every open possible match; (confirmed, rejected)."""
    engine = sa.create_engine(url)
    confirmed = rejected = 0
    with Session(engine) as session, session.begin():
        tasks = session.scalars(
            sa.select(StewardTask).where(
                StewardTask.task_type == "possible_match", StewardTask.status == "open"
            )
        ).all()
        for task in tasks:
            left, right = task.details["left"], task.details["right"]
            if truth.get(left) == truth.get(right):
                confirm_match(session, task_id=task.task_id, by="li.na")
                confirmed += 1
            else:
                not_a_match(session, task_id=task.task_id, by="li.na")
                rejected += 1
    engine.dispose()
    return confirmed, rejected


def possible_matches(url: str) -> list[dict[str, Any]]:
    frame = read(url, "SELECT status, details FROM steward_task WHERE task_type = 'possible_match'")
    return [
        {"status": status, **(json.loads(d) if isinstance(d, str) else d)}
        for status, d in zip(frame["status"], frame["details"], strict=True)
    ]


def scores_on(url: str, truth: pd.Series) -> Evaluation:
    engine = sa.create_engine(url)
    with Session(engine) as session:
        predicted = read_predicted(session)
    engine.dispose()
    return pairwise_scores(predicted.loc[predicted.index.intersection(truth.index)], truth)


@pytest.mark.slow
@pytest.mark.timeout(600)  # four pipeline runs on 14,000 records: about 90 s on two idle cores
@pytest.mark.usefixtures("prefect_harness")
def test_decisions_on_one_delivery_change_how_the_next_delivery_of_new_people_is_matched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(tmp_path / "generated", customers=6000, seed=5)
    first, second = split_by_person(tmp_path / "generated", tmp_path, share=0.85)
    truth = read_truth(second / "truth.csv")
    new_people = truth.loc[truth.index.difference(read_truth(first / "truth.csv").index)]
    untaught, taught = tmp_path / "untaught.db", tmp_path / "taught.db"
    run_into(first, f"sqlite:///{untaught}", monkeypatch, tmp_path, build_docs=False)
    shutil.copy(untaught, taught)
    confirmed, rejected = decide_every_possible_match(f"sqlite:///{taught}", truth)
    assert confirmed >= 20 and rejected > 0

    results = {}
    for db in (untaught, taught):
        url = f"sqlite:///{db}"
        summary = run_into(second, url, monkeypatch, tmp_path, build_docs=False)
        proposed = [
            task
            for task in possible_matches(url)
            if task["status"] == "open"
            and (task["left"] in new_people.index or task["right"] in new_people.index)
        ]
        results[db] = (summary, proposed, scores_on(url, new_people), scores_on(url, truth))

    (_, before_tasks, before_new, before_all) = results[untaught]
    (summary, after_tasks, after_new, after_all) = results[taught]
    print(  # the figures of the closing note (pytest -s)
        f"possible matches with a new person: {len(before_tasks)} -> {len(after_tasks)}; "
        f"new people P {before_new.precision:.4f} -> {after_new.precision:.4f}, "
        f"R {before_new.recall:.4f} -> {after_new.recall:.4f}; "
        f"all P {before_all.precision:.4f} -> {after_all.precision:.4f}, "
        f"R {before_all.recall:.4f} -> {after_all.recall:.4f}"
    )
    assert len(after_tasks) < len(before_tasks)
    assert after_new.precision >= before_new.precision
    assert after_new.recall >= before_new.recall
    assert after_all.precision >= before_all.precision
    assert after_all.recall >= before_all.recall

    # the run says what the labels did; not-a-match pairs never come back
    runs = read(
        f"sqlite:///{taught}",
        "SELECT match_parameters FROM pipeline_run ORDER BY started_at DESC LIMIT 1",
    )
    labels = json.loads(runs["match_parameters"][0])["labels"]
    assert labels["matches"] == confirmed and labels["non_matches"] == rejected
    assert labels["weights_after"] != labels["weights_before"]
    assert labels["lower"]["learnt"] > labels["lower"]["configured"]
    assert sum(labels["held_out_check"].values()) > 0
    assert summary.labels["matches"] == confirmed and summary.labels["weight_changes"]
    # the tasks the decisions removed (and added) in this run, beside the weights
    review = summary.labels["review"]
    print(f"possible-match review by EM alone and taught: {review}")
    assert review["removed"] > review["added"]
    assert review["removed"] == review["removed_merged"] + review["removed_below_lower"]
    assert review["taught_review"] == review["em_review"] - review["removed"] + review["added"]
    assert review == labels["review"]
    rejected_pairs = {
        (t["left"], t["right"])
        for t in possible_matches(f"sqlite:///{taught}")
        if t["status"] != "open"
    }
    reopened = [t for t in after_tasks if (t["left"], t["right"]) in rejected_pairs]
    assert not reopened
    assert (
        summary.tasks_by_type.get("possible_match", 0)
        < results[untaught][0].tasks_by_type["possible_match"]
    )


def _labels(rows: list[int], same: list[bool], held: list[bool] | None = None) -> Labels:
    return Labels(
        np.asarray(rows), np.asarray(same), np.asarray(held or [False] * len(rows), dtype=bool)
    )


def test_find_labels_finds_decided_candidate_pairs_and_a_rejection_wins() -> None:
    keys = np.array(["a:1", "a:2", "a:3", "a:4"], dtype=object)
    left, right = np.array([0, 0, 1]), np.array([1, 2, 3])
    # (1, 0) is the pair (0, 1), also rejected; (2, 3) is decided but not a candidate pair
    must = (np.array([1, 2]), np.array([0, 3]))
    cannot = (np.array([0]), np.array([1]))
    labels = find_labels(keys, left, right, must, cannot)
    assert labels.rows.tolist() == [0]
    assert labels.same_person.tolist() == [False]


def test_the_correction_moves_only_the_levels_stewards_judge_otherwise_than_em() -> None:
    levels = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    probability = np.full(8, 0.9)
    # stewards confirm what EM expected: no correction
    agreed = correction(levels, np.ones(8, dtype=bool), probability, 3)
    assert agreed == pytest.approx(np.ones(3))
    # level 0 pairs were all rejected: its m falls, the confirmed levels' rise
    same = levels != 0
    moved = correction(levels, same, probability, 3)
    assert moved[0] == pytest.approx((20 * 0.25) / (6 + 20) / 0.25)  # shrunk by 20 pseudo-pairs
    assert moved[1] > 1 and moved[2] > 1
    # never more than MAX_CORRECTION bits, and no labelled match: nothing to learn
    lonely = correction(np.array([0, 1]), np.array([True, False]), np.array([1e-9, 1.0]), 3)
    assert lonely.max() <= 2**MAX_CORRECTION
    nothing = correction(levels, np.zeros(8, dtype=bool), probability, 3)
    assert nothing == pytest.approx(np.ones(3))


def test_the_possible_match_threshold_moves_only_once_enough_pairs_are_decided() -> None:
    probability = np.linspace(0.80, 0.99, 30)
    few = _labels(list(range(10)), [True] * 10)
    assert learnt_lower(few, probability, lower=0.8, upper=0.99) == 0.8
    # the least probable labelled match is row 5; held-out labels do not move the threshold
    same = [i >= 5 for i in range(25)]
    held = [i == 6 for i in range(25)]
    labels = _labels(list(range(25)), same, held)
    assert learnt_lower(labels, probability, lower=0.8, upper=0.99) == pytest.approx(
        np.floor(probability[5] * 1000) / 1000
    )


def test_review_changes_count_the_tasks_labels_removed_and_added() -> None:
    #                   pair:   0     1     2     3     4     5     6
    em = np.array([0.85, 0.85, 0.95, 0.70, 0.999, 0.90, 0.85])
    taught = np.array([0.82, 0.995, 0.95, 0.90, 0.999, 0.90, 0.85])
    settled = np.array([False, False, False, False, False, False, True])
    review = review_changes(
        em, taught, settled=settled, configured_lower=0.8, lower=0.83, upper=0.99
    )
    # 0 falls under the learnt threshold, 1 now merges, 3 is new; 2 and 5 stay; 4 merges under
    # both; 6 is decided (settled) and counts nowhere
    assert review == {
        "em_review": 4,
        "taught_review": 3,
        "removed": 2,
        "removed_merged": 1,
        "removed_below_lower": 1,
        "added": 1,
    }
