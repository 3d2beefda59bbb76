"""What-if thresholds (issue 15): from a run's stored scores, what other thresholds would do to
its merges and possible-match tasks, checked against real runs with those thresholds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.warehouse_io import run_into
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mdm.cli.app import app
from mdm.matching.cluster import components
from mdm.matching.profile import match_weight
from mdm.matching.whatif import bottlenecks, score_histogram, what_if
from mdm.testbed.generate import generate
from warehouse.runs import stored_score_histogram


def pairs_at(weights: list[float], decisions: list[str], rules: str = "id") -> pd.DataFrame:
    n = len(weights)
    return pd.DataFrame(
        {
            "left_key": [f"a:{i}" for i in range(n)],
            "right_key": [f"b:{i}" for i in range(n)],
            "match_weight": weights,
            "rules": rules,
            "decision": decisions,
        }
    )


def test_a_what_if_moves_only_the_pairs_between_the_old_and_new_thresholds() -> None:
    assert (match_weight(0.99), match_weight(0.8)) == pytest.approx((6.63, 2.0), abs=0.01)
    pairs = pairs_at(
        [1.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 20.0, 3.5, 5.5],
        [
            "non_match",
            "possible",
            "possible",
            "match",
            "possible",
            "match",
            "match",
            "match",
            "match",
            "cannot_link",
            "match",
        ],
    )
    histogram = score_histogram(pairs, upper=0.99, lower=0.8, decided=[("b:10", "a:10")])
    # the cannot-link and the steward-confirmed pair are not counted: nothing moves them
    assert sum(histogram["pairs"]) == 9
    same = what_if(histogram, upper=0.99, lower=0.8)
    assert (same.merges_now, same.merges_then, same.tasks_now, same.tasks_then) == (4, 4, 3, 3)
    # lower down to 0.6 (0.58 bits): the pair at 1.0 becomes a task
    lowered = what_if(histogram, upper=0.99, lower=0.6)
    assert (lowered.tasks_then, lowered.tasks_opened, lowered.tasks_closed) == (4, 1, 0)
    # upper down to 0.98 (5.6 bits): the task at 6.0 merges, the joined pair at 5.0 stays joined
    merging = what_if(histogram, upper=0.98, lower=0.8)
    assert (merging.merges_then, merging.merges_gained, merging.tasks_then) == (5, 1, 2)
    # upper up to 0.998 (8.96 bits): the merges at 7 and 8 are lost and become tasks
    strict = what_if(histogram, upper=0.998, lower=0.8)
    assert (strict.merges_then, strict.merges_lost) == (2, 2)
    assert (strict.tasks_then, strict.tasks_opened) == (5, 2)
    assert strict.resolution == 0
    with pytest.raises(ValueError, match="lower <= upper"):
        what_if(histogram, upper=0.8, lower=0.9)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("nodes", [25, 80])  # one large component; many of two to four nodes
def test_bottlenecks_agree_with_connected_components_at_every_weight(seed: int, nodes: int) -> None:
    rng = np.random.default_rng(seed)
    left, right = rng.integers(0, nodes, 60), rng.integers(0, nodes, 60)
    unique = pd.Series(np.minimum(left, right) * 1000 + np.maximum(left, right)).duplicated()
    keep = (left != right) & ~unique.to_numpy()  # a pair once, as the matcher scores it
    left, right = left[keep], right[keep]
    weight = rng.choice(np.arange(0.0, 12.0, 0.5), len(left))
    wanted = rng.random(len(left)) < 0.8
    found = bottlenecks(left, right, weight, wanted)
    for pair in range(len(left)):
        if not wanted[pair]:
            assert np.isnan(found[pair])
            continue
        # reference: the highest weight whose pairs at or above it connect the two nodes
        joined_at = [
            t
            for t in np.unique(weight)
            if (lambda c: c[left[pair]] == c[right[pair]])(
                components(nodes, left[weight >= t], right[weight >= t])
            )
        ]
        assert found[pair] == max(joined_at)


def test_the_labels_threshold_holds_under_a_lower_lower() -> None:
    pairs = pairs_at([1.0, 2.3, 3.5], ["possible", "possible", "possible"])
    histogram = score_histogram(pairs, upper=0.99, lower=0.85, supported_lower=0.85)
    # a run would keep the labels' 0.85 (2.5 bits): 0.6 opens nothing below it
    assert what_if(histogram, upper=0.99, lower=0.6).tasks_then == 1
    assert what_if(histogram, upper=0.99, lower=0.6).lower == 0.85


@pytest.fixture(scope="module")
def channels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("channels")
    generate(folder, customers=600, seed=21)
    return folder


THRESHOLDS = [(0.99, 0.5), (0.99, 0.95), (0.9, 0.8), (0.85, 0.6), (0.9999, 0.8)]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.usefixtures("prefect_harness")
def test_a_what_if_gives_what_a_run_with_those_thresholds_gives(
    channels_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_url = f"sqlite:///{tmp_path / 'stored.db'}"
    first = run_into(channels_dir, stored_url, monkeypatch, tmp_path, build_docs=False)
    histogram = first.score_histogram
    now = what_if(histogram, upper=0.99, lower=0.8)
    assert now.merges_now == first.merge_audit["merges"]
    assert now.tasks_now == first.tasks_by_type["possible_match"]
    for upper, lower in THRESHOLDS:
        predicted = what_if(histogram, upper=upper, lower=lower)
        url = f"sqlite:///{tmp_path / f'real_{upper}_{lower}.db'}"
        real = run_into(
            channels_dir,
            url,
            monkeypatch,
            tmp_path,
            build_docs=False,
            match_upper=upper,
            match_lower=lower,
        )
        merges, tasks = real.merge_audit["merges"], real.tasks_by_type.get("possible_match", 0)
        print(
            f"{upper}/{lower}: merges {predicted.merges_then} vs {merges}, "
            f"tasks {predicted.tasks_then} vs {tasks}, resolution {predicted.resolution}"
        )
        assert abs(predicted.merges_then - merges) <= predicted.resolution
        assert abs(predicted.tasks_then - tasks) <= predicted.resolution

    with Session(sa.create_engine(stored_url)) as session:
        found = stored_score_histogram(session)
    assert found is not None and found[0].run_id == first.run_id
    result = CliRunner().invoke(
        app, ["what-if", "--upper", "0.99", "--lower", "0.5", "--warehouse", stored_url]
    )
    assert result.exit_code == 0, result.output
    lowered = what_if(histogram, upper=0.99, lower=0.5)
    assert f"possible-match tasks:     {now.tasks_now:,} -> {lowered.tasks_then:,}" in result.output
    assert f"(+{lowered.tasks_opened:,} opened" in result.output
    bad = CliRunner().invoke(
        app, ["what-if", "--upper", "0.8", "--lower", "0.9", "--warehouse", stored_url]
    )
    assert bad.exit_code == 2 and "lower <= upper" in bad.output, bad.output
    assert np.isfinite(lowered.resolution)
