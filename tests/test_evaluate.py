"""Pairwise precision/recall/F1 from cluster sizes, checked against brute-force pair counting."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from mdm.testbed.evaluate import pairwise_scores


def brute_force(predicted: pd.Series, truth: pd.Series) -> tuple[int, int, int]:
    keys = sorted(predicted.index.intersection(truth.index))
    pred = {pair for pair in combinations(keys, 2) if predicted[pair[0]] == predicted[pair[1]]}
    true = {pair for pair in combinations(keys, 2) if truth[pair[0]] == truth[pair[1]]}
    return len(pred), len(true), len(pred & true)


@pytest.mark.parametrize("seed", range(5))
def test_pair_counts_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keys = [f"s:{i}" for i in range(60)]
    predicted = pd.Series(rng.integers(0, 20, 60), index=keys)
    truth = pd.Series(rng.integers(0, 15, 60), index=keys).iloc[5:]
    result = pairwise_scores(predicted, truth)
    assert (result.predicted_pairs, result.true_pairs, result.correct_pairs) == brute_force(
        predicted, truth
    )
    assert result.missing_from_warehouse == 0
    assert result.records == 55


def test_perfect_and_over_merged() -> None:
    truth = pd.Series({"a": 1, "b": 1, "c": 2, "d": 3})
    perfect = pairwise_scores(pd.Series({"a": "X", "b": "X", "c": "Y", "d": "Z"}), truth)
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    merged = pairwise_scores(pd.Series({"a": "X", "b": "X", "c": "X", "d": "Z"}), truth)
    assert merged.precision == pytest.approx(1 / 3)
    assert merged.recall == 1.0
    assert merged.customers == 2 and merged.persons == 3
