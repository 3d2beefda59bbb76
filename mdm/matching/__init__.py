"""Matching: which standardized source records are the same person (SPEC §4).

Stages, one module each: ``features`` (keys as integer codes), ``blocking`` (candidate pairs),
``compare`` (comparison levels), ``train`` (m, u and λ by EM), ``model`` (Fellegi-Sunter
weights), ``cluster`` (constrained connected components) and ``survive`` (golden records,
conflicts). ``match_records`` runs all but the last; survivorship is called on its clusters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching.arrays import pair_codes
from mdm.matching.blocking import DEFAULT_RULES, candidate_pairs
from mdm.matching.cluster import cluster
from mdm.matching.compare import COMPARISONS, compare, level
from mdm.matching.features import prepare
from mdm.matching.model import explain, score
from mdm.matching.train import TrainingSettings, fit

DECISIONS = ("match", "possible", "non_match", "cannot_link")


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds are posterior probabilities that the two records are one person.

    At 0.99 an automatic merge is wrong about once in a hundred merges at the very threshold and
    far less above it, which the SPEC's "hard evidence beats similarity" rules then guard; pairs
    from 0.80 up are close enough that a steward's look is worth the time.
    """

    upper: float = 0.99  # probability at/above which records merge automatically
    lower: float = 0.80  # between lower and upper: possible match for a steward
    max_block_size: int = 200  # a blocking key shared by more records is skipped for that rule
    seed: int = 0  # seeds the random pairs that estimate u
    u_sample_pairs: int = 1_000_000  # random pairs for u (Splink's default max_pairs)

    def __post_init__(self) -> None:
        if not 0.0 < self.lower <= self.upper <= 1.0:
            raise ValueError(f"need 0 < lower <= upper <= 1, got {self.lower}, {self.upper}")


@dataclass
class MatchResult:
    """What a matching run found.

    ``pairs``: one row per candidate pair (and per steward decision): ``left_key`` <
    ``right_key``, ``rules`` (comma-joined blocking rules, ``steward`` for decided pairs),
    ``match_weight`` (log2 Bayes factor including the prior), ``match_probability``, ``decision``
    (``match`` = same cluster, ``possible`` = different clusters at or above ``lower``,
    ``cannot_link`` = steward's not-a-match or two different valid resident ids, else
    ``non_match``), and the parts of the score: ``<comparison>_level`` / ``<comparison>_weight``.
    """

    clusters: pd.Series  # record_key -> cluster label (the smallest record_key in it)
    pairs: pd.DataFrame
    blocking_counts: dict[str, int]  # candidate pairs each rule produced (before the union)
    skipped_blocks: dict[str, int]  # blocks over max_block_size each rule skipped
    parameters: dict[str, Any]  # fitted m, u and λ; JSON-serializable

    def parts(self, pairs: pd.DataFrame | None = None) -> pd.Series:
        """comparison -> {level, weight} per pair (all pairs by default), for a steward."""
        return explain(self.pairs if pairs is None else pairs)


def _positions(index: pd.Index, links: Iterable[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of decided pairs; decisions about records not in this run are skipped."""
    frame = pd.DataFrame(list(links), columns=["a", "b"], dtype=object)
    if frame.empty:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    a, b = index.get_indexer(frame["a"]), index.get_indexer(frame["b"])
    known = (a >= 0) & (b >= 0) & (a != b)
    return a[known].astype(np.int64), b[known].astype(np.int64)


def match_records(
    records: pd.DataFrame,
    *,
    settings: MatchSettings = MatchSettings(),
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
) -> MatchResult:
    """Find which records (index = record_key) are one person, and score every candidate pair.

    ``must_link`` / ``cannot_link`` are steward decisions (confirmed merge / not a match) as
    record_key pairs; they override scores.
    """
    if not records.index.is_unique:
        raise ValueError("records must have a unique record_key index")
    features = prepare(records)
    n = features.size
    must = _positions(records.index, must_link)
    cannot = _positions(records.index, cannot_link)
    blocking = candidate_pairs(
        features,
        rules=DEFAULT_RULES,
        max_block_size=settings.max_block_size,
        extra=(np.r_[must[0], cannot[0]], np.r_[must[1], cannot[1]]),
    )
    left = blocking.pairs["left"].to_numpy()
    right = blocking.pairs["right"].to_numpy()
    rule_mask = blocking.pairs["rule_mask"].to_numpy()

    levels = compare(features, left, right)
    training = TrainingSettings(u_sample_pairs=settings.u_sample_pairs, seed=settings.seed)
    parameters = fit(features, left, levels, rule_mask, blocking.rules, training)
    scores = score(features, left, levels, parameters)
    probability = scores["match_probability"].to_numpy()

    identity = np.where(features.resident_id, features.id_number.codes, -1)
    position = cluster(
        n,
        left,
        right,
        probability,
        threshold=settings.upper,
        identity=identity,
        must_link=must,
        cannot_link=cannot,
        rank=features.rank,
    )
    keys = features.keys
    vetoed = np.isin(pair_codes(left, right, n), pair_codes(*cannot, n))
    id_conflict = levels["id"].to_numpy() == level("id", "conflict")
    decision = np.select(
        [vetoed, position[left] == position[right], id_conflict, probability >= settings.lower],
        [DECISIONS.index(d) for d in ("cannot_link", "match", "cannot_link", "possible")],
        DECISIONS.index("non_match"),
    )
    pairs = pd.DataFrame(
        {
            "left_key": pd.Series(keys[left], dtype=object),
            "right_key": pd.Series(keys[right], dtype=object),
            "rules": blocking.rule_names(rule_mask),
            "match_weight": scores["match_weight"].to_numpy(),
            "match_probability": probability,
            "decision": pd.Categorical.from_codes(decision, categories=DECISIONS),
        }
    )
    for name, labels in COMPARISONS.items():
        pairs[f"{name}_level"] = pd.Categorical.from_codes(
            levels[name].to_numpy() + 1, categories=["null", *labels]
        )
        pairs[f"{name}_weight"] = scores[f"{name}_weight"].to_numpy()
    return MatchResult(
        clusters=pd.Series(keys[position], index=records.index, name="cluster", dtype=object),
        pairs=pairs,
        blocking_counts=blocking.pairs_per_rule,
        skipped_blocks=blocking.skipped_blocks,
        parameters=parameters,
    )
