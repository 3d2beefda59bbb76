"""Fellegi-Sunter weights: how much each comparison level says, and a pair's total.

A level's weight is log2(m/u), m = P(level | same person) and u = P(level | two people), both
taken within the level's mode (what the two records have to compare), so that a third-party
pinyin name is judged among romanized pairs, never against character matches it cannot reach.
Null levels weigh 0. Exact levels of names, birth dates and cities are adjusted by the agreeing
value's frequency. The parameters come from ``train.fit`` as a JSON-serializable dict.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching.compare import COMPARISONS, LEVEL_MODES, level
from mdm.matching.features import Features
from mdm.matching.keys import hash_values

# Levels whose u is the agreeing value's term frequency: (comparison, level) -> Features field.
# Name frequencies leave out 王先生-style records, whose key is only a surname.
TERM_FREQUENCY = {
    ("name", "exact"): "name",
    ("name", "pinyin_exact"): "pinyin",
    ("name", "romanized_exact"): "pinyin",
    ("name", "latin_exact"): "name",
    ("birth_date", "exact"): "birth_date",  # a placeholder date shared by many says little
    ("address", "city_agrees"): "city",  # sharing 太原 says more than sharing 上海
}


def _within_mode(p: np.ndarray, modes: np.ndarray) -> np.ndarray:
    return p / np.bincount(modes, weights=p)[modes]


def level_weights(m: dict[str, np.ndarray], u: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """log2(m/u) per level, m and u each taken within the level's mode (so what the records have
    to compare weighs nothing, only how it compares)."""
    return {
        name: np.log2(
            _within_mode(m[name], LEVEL_MODES[name]) / _within_mode(u[name], LEVEL_MODES[name])
        )
        for name in COMPARISONS
    }


def log2_ratio(m: dict[str, np.ndarray], u: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per comparison: weights indexed by level + 1, the null level (index 0) weighing 0."""
    return {name: np.r_[0.0, weights] for name, weights in level_weights(m, u).items()}


@dataclass(frozen=True)
class TermFrequencies:
    """Per comparison, each pair's weight adjustment for the value it agrees on (0 off the TF
    levels); per TF level, Σ f², the chance that two random records share a value."""

    adjustment: dict[str, np.ndarray]
    agreement: dict[str, float]


def term_frequencies(
    features: Features,
    left: np.ndarray,
    levels: pd.DataFrame,
    population: Mapping[str, pd.Series] | None = None,
    fields: Collection[str] | None = None,
    square_sums: Mapping[str, float] | None = None,
) -> TermFrequencies:
    """On a TF level, P(agree on v | non-match) = u · f(v) / Σf² shares the level's u out over
    the values by how often random pairs agree on each, while P(agree on v | match) = m (the
    person has v), so the weight moves by log2(Σf² / f(v)). Keeping the level's own m/u matters
    for romanized_exact, which only pairs across scripts reach, so its m and u are both diluted.

    ``population``: when ``features`` are a part of the records (an incremental run's
    neighbourhood), the whole warehouse's share of each value, per Features field, indexed by
    the value's hash (keys.hash_values). ``fields``: the Features fields whose levels are
    adjusted (default: every one of TERM_FREQUENCY); the others keep their level's weight.
    ``square_sums``: per field, the sum of the squared shares of all the warehouse's values,
    when ``population`` holds the shares of some of them only.
    """
    adjustment = {c: np.zeros(len(levels)) for c, _ in TERM_FREQUENCY}
    agreement = {}
    for (comparison, level_name), column in TERM_FREQUENCY.items():
        if fields is not None and column not in fields:
            continue
        codes = getattr(features, column)
        if population is None:
            everyone = np.ones(features.size, dtype=bool)
            shares = codes.frequency(~features.partial if comparison == "name" else everyone)
            total = float((shares**2).sum())
        else:
            known = population[column]
            if square_sums is not None:
                total = float(square_sums[column])
            else:
                total = float((known.to_numpy() ** 2).sum())
            shares = known.reindex(hash_values(codes.values)).to_numpy(dtype=float)
        on_level = levels[comparison].to_numpy() == level(comparison, level_name)
        value_share = shares[codes.codes[left[on_level]]]
        adjustment[comparison][on_level] += np.log2(total / value_share)
        agreement[f"{comparison}.{level_name}"] = total
    return TermFrequencies(adjustment, agreement)


def partial_weights(
    levels: pd.DataFrame,
    tf: TermFrequencies,
    m: dict[str, np.ndarray],
    u: dict[str, np.ndarray],
) -> pd.DataFrame:
    """log2 Bayes factor of each comparison per pair (0 for null levels), TF-adjusted."""
    table = log2_ratio(m, u)
    names = list(COMPARISONS)
    # Filled a comparison at a time into the one block the frame keeps: a column per comparison
    # and then the frame's copy of them all were twice the weights of millions of pairs at once.
    weights = np.empty((len(names), len(levels)), dtype=np.float64)
    for row, name in zip(weights, names, strict=True):
        np.add(table[name][levels[name].to_numpy() + 1], tf.adjustment.get(name, 0.0), out=row)
    return pd.DataFrame(weights.T, index=levels.index, columns=names, copy=False)


def score(levels: pd.DataFrame, tf: TermFrequencies, parameters: dict[str, Any]) -> pd.DataFrame:
    """Per pair: ``<comparison>_weight`` columns, ``match_weight`` (prior included, log2) and
    ``match_probability``."""
    comparisons = parameters["comparisons"]
    m = {name: np.asarray(comparisons[name]["m"]) for name in COMPARISONS}
    u = {name: np.asarray(comparisons[name]["u"]) for name in COMPARISONS}
    weights = partial_weights(levels, tf, m, u)
    lam = parameters["lambda"]
    match_weight = np.log2(lam / (1 - lam)) + weights.sum(axis=1).to_numpy()
    out = weights.add_suffix("_weight")
    out["match_weight"] = match_weight
    out["match_probability"] = 1.0 / (1.0 + np.exp2(-match_weight))
    return out


def explain(pairs: pd.DataFrame) -> pd.Series:
    """The parts of each pair's score for a steward: comparison -> {level, weight}.

    Built on demand from the ``<comparison>_level`` / ``<comparison>_weight`` columns, because a
    dict per pair costs about a kilobyte and a million-record run has millions of pairs.
    """
    columns = [
        (name, pairs[f"{name}_level"].to_numpy(dtype=object), pairs[f"{name}_weight"].to_numpy())
        for name in COMPARISONS
    ]
    parts = [
        {name: {"level": lv[i], "weight": float(w[i])} for name, lv, w in columns}
        for i in range(len(pairs))
    ]
    return pd.Series(parts, index=pairs.index, dtype=object)
