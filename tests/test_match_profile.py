"""The run's matching in counts (mdm/matching/profile.py): what the run report draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mdm.matching.profile import cluster_sizes, match_profile, match_weight, merges_per_rule


def test_thresholds_become_the_weights_where_a_pair_reaches_them() -> None:
    assert match_weight(0.5) == 0.0
    assert match_weight(0.99) == pytest.approx(6.6294, abs=1e-4)
    assert match_weight(0.8) == pytest.approx(2.0)


def test_merges_count_once_per_rule_that_proposed_them_and_non_merges_not_at_all() -> None:
    pairs = pd.DataFrame(
        {
            "rules": ["id,mobile", "mobile", "name_birth", "steward"],
            "decision": ["match", "match", "possible", "match"],
        }
    )
    assert merges_per_rule(pairs) == {"id": 1, "mobile": 2, "steward": 1}


def test_cluster_sizes_group_the_largest_together() -> None:
    clusters = pd.Series(["a"] + ["b"] * 2 + ["c"] * 2 + ["d"] * 12 + ["e"] * 15 + ["f"])
    assert cluster_sizes(clusters) == {"1": 2, "2": 2, "11+": 2}


def test_the_histogram_holds_every_scored_pair_and_leaves_steward_pairs_out() -> None:
    weights = np.array([-80.0, -3.0, 0.5, 7.0, 55.0, 9.0])
    pairs = pd.DataFrame(
        {
            "match_weight": weights,
            "rules": ["name"] * 5 + ["steward"],
            "decision": ["non_match", "non_match", "non_match", "match", "match", "match"],
        }
    )
    profile = match_profile(pairs, pd.Series(["a", "a", "b"]), upper=0.99, lower=0.8)
    histogram = profile["weights"]
    assert sum(histogram["pairs"]) == profile["pairs_scored"] == 5
    assert histogram["pairs"][0] == 1 and histogram["pairs"][-1] == 1  # clipped into the ends
    starts = histogram["bin_start"]
    assert histogram["pairs"][starts.index(6.0)] == 1  # 7.0 sits in [6, 8)
    assert profile["thresholds"]["upper_weight"] == pytest.approx(6.629, abs=1e-3)
    assert profile["cluster_sizes"] == {"1": 1, "2": 1}
