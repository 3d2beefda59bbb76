"""What a matching run looked like, in counts only: the match-weight distribution against both
thresholds, the merges each blocking rule proposed and the sizes of the clusters. No record key
and no value leaves this module, so the result can go into reports and Prefect artifacts.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

# Match weights (log2 Bayes factor with the prior) from -30 to +40 in steps of 2: the usual
# range of a Fellegi-Sunter model; weights beyond it are counted in the outermost bins.
WEIGHT_RANGE = (-30.0, 40.0)
WEIGHT_STEP = 2.0
LARGEST_SIZE_SHOWN = 10  # clusters above it are counted together as "11+"


def match_weight(probability: float) -> float:
    """The weight at which a pair reaches ``probability`` (the inverse of the logistic)."""
    return math.log2(probability / (1.0 - probability)) if probability < 1.0 else math.inf


def weight_histogram(weights: np.ndarray) -> dict[str, list[float] | list[int]]:
    """Pairs per weight bin: ``bin_start`` (left edges) and ``pairs``."""
    low, high = WEIGHT_RANGE
    edges = np.arange(low, high + WEIGHT_STEP, WEIGHT_STEP)
    finite = weights[np.isfinite(weights)]
    counts, _ = np.histogram(np.clip(finite, low, high - 1e-9), bins=edges)
    return {"bin_start": edges[:-1].tolist(), "pairs": counts.astype(int).tolist()}


def merges_per_rule(pairs: pd.DataFrame) -> dict[str, int]:
    """Merged pairs (decision ``match``) per blocking rule that proposed them; a pair that
    several rules proposed counts once for each, as Splink's cumulative rule chart does."""
    # Counted per distinct rule list (a categorical's codes), then split: splitting the text of
    # every merged pair took seconds at a million records.
    per_list = pairs.loc[pairs["decision"] == "match", "rules"].value_counts()
    counted: Counter[str] = Counter()
    for rules, n in per_list.items():
        for rule in str(rules).split(","):
            counted[rule] += int(n)
    return {rule: counted[rule] for rule in sorted(counted) if rule and counted[rule]}


def cluster_sizes(clusters: pd.Series) -> dict[str, int]:
    """Clusters per size ("1" for records alone, ..., "11+")."""
    sizes = clusters.value_counts().to_numpy()
    shown = np.minimum(sizes, LARGEST_SIZE_SHOWN + 1)
    counted = pd.Series(shown).value_counts().sort_index()
    return {
        (str(size) if size <= LARGEST_SIZE_SHOWN else f"{LARGEST_SIZE_SHOWN + 1}+"): int(n)
        for size, n in counted.items()
    }


def match_profile(
    pairs: pd.DataFrame, clusters: pd.Series, *, upper: float, lower: float
) -> dict[str, Any]:
    """The run's matching in counts, for the run report (JSON-serializable).

    Steward-decided pairs carry no score of the model's own and are left out of the histogram.
    """
    # the one column it needs, not a copy of every pair's row (a categorical compares codes)
    scored = pairs["match_weight"].to_numpy(dtype=float)[(pairs["rules"] != "steward").to_numpy()]
    return {
        "weights": weight_histogram(scored),
        "thresholds": {
            "upper": upper,
            "lower": lower,
            "upper_weight": round(match_weight(upper), 3),
            "lower_weight": round(match_weight(lower), 3),
        },
        "pairs_scored": len(scored),
        "merges_by_rule": merges_per_rule(pairs),
        "cluster_sizes": cluster_sizes(clusters),
    }
