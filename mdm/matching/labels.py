"""Steward decisions as labels: confirmed and rejected pairs correct m for every pair.

Stewards decide the pairs EM was unsure of, so the decided matches are no sample of all
matches, and counting their levels as m would take the hard cases for the typical one. Instead
the decided pairs are scored with EM's model, and per comparison level the share of confirmed
matches is set against the share EM expected of them (Σ P(match) of the same pairs): where
stewards confirm a level more often than EM believed, its m rises by that ratio, where less
often it falls (see ``correction``). The corrected m scores every pair, decided or not.
Rejected pairs count through EM's expectation (EM took them for likely matches), and stay
cannot-links.

Every fifth label (by its pair's keys, so the same labels on every run) is held out of m and
scored by the corrected model instead: how many held-out matches it merges or leaves for a
steward, and how many held-out non-matches it would merge.

The result goes into the match parameters under ``labels``, with EM's own m kept there so an
incremental run applies the labels it reads today to the model EM fitted, not into one that
already holds older labels.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching.arrays import pair_codes
from mdm.matching.compare import COMPARISONS
from mdm.matching.model import TermFrequencies, level_weights, score

LABEL_STRENGTH = 20.0  # pseudo-pairs that hold a level's correction towards none
MAX_CORRECTION = 4.0  # bits a level's weight may move on labels
HOLD_OUT_EVERY = 5
MIN_LABELS = 20  # decided pairs before they move the possible-match threshold


@dataclass(frozen=True)
class Labels:
    """Decided candidate pairs: row positions into the candidate pairs and the verdict."""

    rows: np.ndarray  # positions into the candidate pairs (levels, scores)
    same_person: np.ndarray  # bool
    held_out: np.ndarray  # bool: scored, not learnt from

    @property
    def training(self) -> np.ndarray:
        return self.rows[~self.held_out & self.same_person]


def _held_out(left_keys: np.ndarray, right_keys: np.ndarray) -> np.ndarray:
    digests = [
        hashlib.sha256(f"{a}|{b}".encode()).digest()[0]
        for a, b in zip(left_keys, right_keys, strict=True)
    ]
    return np.asarray(digests, dtype=np.int64) % HOLD_OUT_EVERY == 0


def find_labels(
    keys: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    must: tuple[np.ndarray, np.ndarray],
    cannot: tuple[np.ndarray, np.ndarray],
) -> Labels:
    """The candidate pairs (``left``/``right`` record positions) a steward decided: ``must``
    confirmed, ``cannot`` rejected (record positions, as the engine holds them)."""
    n = len(keys)
    codes = pair_codes(left, right, n)
    verdicts = pd.concat(
        [
            pd.Series(True, index=pair_codes(*must, n), dtype=bool),
            pd.Series(False, index=pair_codes(*cannot, n), dtype=bool),
        ]
    )
    verdicts = verdicts[~verdicts.index.duplicated(keep="last")]
    rows = np.flatnonzero(np.isin(codes, verdicts.index.to_numpy()))
    same = verdicts.reindex(codes[rows]).to_numpy(dtype=bool)
    lo, hi = np.minimum(left[rows], right[rows]), np.maximum(left[rows], right[rows])
    return Labels(rows, same, _held_out(keys[lo], keys[hi]))


def _probabilities(
    parameters: dict[str, Any], levels: pd.DataFrame, tf: TermFrequencies, rows: np.ndarray
) -> np.ndarray:
    """P(match) of the candidate pairs at ``rows`` under ``parameters``."""
    subset = TermFrequencies({k: v[rows] for k, v in tf.adjustment.items()}, tf.agreement)
    picked = levels.iloc[rows].reset_index(drop=True)
    return score(picked, subset, parameters)["match_probability"].to_numpy()


def correction(
    levels: np.ndarray, same_person: np.ndarray, probability: np.ndarray, n_levels: int
) -> np.ndarray:
    """Per level, how much more often the decided matches reach it than EM expected of them.

    Stewards decide the pairs EM was unsure of, not a sample of all matches: counting their
    levels as m would take the hard cases for the typical one. So the labels are compared with
    EM's own expectation for the same pairs (Σ P(match) on each level): where they agree, m
    stays; where stewards confirm a level more (or less) often than EM believed, m of that
    level moves by the ratio, shrunk towards 1 by LABEL_STRENGTH pseudo-pairs and kept within
    MAX_CORRECTION bits.
    """
    present = levels >= 0
    expected = np.bincount(levels[present], weights=probability[present], minlength=n_levels)
    observed = np.bincount(levels[present & same_person], minlength=n_levels).astype(np.float64)
    if expected.sum() <= 0 or observed.sum() <= 0:
        return np.ones(n_levels)
    share = expected / expected.sum()
    smoothed = (observed + LABEL_STRENGTH * share) / (observed.sum() + LABEL_STRENGTH)
    ratio = np.divide(smoothed, share, out=np.ones(n_levels), where=share > 0)
    return np.clip(ratio, 2.0**-MAX_CORRECTION, 2.0**MAX_CORRECTION)


def _rounded(weights: dict[str, np.ndarray]) -> dict[str, list[float]]:
    return {name: [round(float(w), 3) for w in values] for name, values in weights.items()}


def with_labels(
    parameters: dict[str, Any], levels: pd.DataFrame, tf: TermFrequencies, labels: Labels
) -> dict[str, Any]:
    """The parameters with m corrected by the labels, and ``labels`` saying what they did.

    Starts from EM's m (``labels.em_m`` when the parameters already hold older labels), so
    labels are never counted twice; without training labels the parameters are EM's own.
    """
    comparisons = parameters["comparisons"]
    em_m = parameters.get("labels", {}).get("em_m") or {
        name: comparisons[name]["m"] for name in COMPARISONS
    }
    m = {name: np.asarray(em_m[name], dtype=np.float64) for name in COMPARISONS}
    u = {name: np.asarray(comparisons[name]["u"], dtype=np.float64) for name in COMPARISONS}
    em = {
        **parameters,
        "comparisons": {name: {**comparisons[name], "m": m[name]} for name in COMPARISONS},
    }
    training = labels.rows[~labels.held_out]
    same = labels.same_person[~labels.held_out]
    corrected = m
    if same.any():
        probability = _probabilities(em, levels, tf, training)
        corrected = {}
        for name, names in COMPARISONS.items():
            factor = correction(levels[name].to_numpy()[training], same, probability, len(names))
            corrected[name] = m[name] * factor / (m[name] * factor).sum()
    before, after = level_weights(m, u), level_weights(corrected, u)
    out = {
        **parameters,
        "comparisons": {
            name: {
                **comparisons[name],
                "m": corrected[name].tolist(),
                "weight": after[name].tolist(),
            }
            for name in COMPARISONS
        },
    }
    out["labels"] = {
        "matches": int(labels.same_person.sum()),
        "non_matches": int((~labels.same_person).sum()),
        "training_matches": int(same.sum()),
        "held_out": int(labels.held_out.sum()),
        "strength": LABEL_STRENGTH,
        "em_m": {name: m[name].tolist() for name in COMPARISONS},
        "weights_before": _rounded(before),
        "weights_after": _rounded(after),
    }
    return out


def learnt_lower(labels: Labels, probability: np.ndarray, *, lower: float, upper: float) -> float:
    """The possible-match threshold the training labels support: just under the least probable
    labelled match, once MIN_LABELS pairs are decided. Below it stewards have only rejected
    pairs, and a pair below ``lower`` is not merged either way, so raising it removes tasks
    without changing any customer; the held-out labels say how many matches it would hide."""
    supported = supported_lower(labels, probability)
    return lower if supported is None else float(np.clip(supported, lower, upper))


def supported_lower(labels: Labels, probability: np.ndarray) -> float | None:
    """Just under the least probable labelled match (to 0.001), once MIN_LABELS training
    pairs are decided; None before."""
    training = ~labels.held_out
    if training.sum() < MIN_LABELS or not labels.same_person[training].any():
        return None
    least = float(probability[labels.rows[training & labels.same_person]].min())
    return float(np.floor(least * 1000) / 1000)


def held_out_check(
    labels: Labels, probability: np.ndarray, *, upper: float, lower: float
) -> dict[str, int]:
    """How the held-out labels fare under the thresholds: the model's precision and recall on
    pairs it was not taught with (a small sample, so counts rather than rates)."""
    held = labels.held_out
    p = probability[labels.rows[held]]
    same = labels.same_person[held]
    return {
        "matches": int(same.sum()),
        "matches_merged": int((same & (p >= upper)).sum()),
        "matches_possible": int((same & (p >= lower) & (p < upper)).sum()),
        "matches_not_proposed": int((same & (p < lower)).sum()),
        "non_matches": int((~same).sum()),
        "non_matches_merged": int((~same & (p >= upper)).sum()),
    }


def em_only(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters with EM's own m, as if no steward had decided anything."""
    em_m = parameters.get("labels", {}).get("em_m")
    if not em_m:
        return parameters
    comparisons = parameters["comparisons"]
    return {
        **parameters,
        "comparisons": {name: {**comparisons[name], "m": em_m[name]} for name in COMPARISONS},
    }


def review_changes(
    em_probability: np.ndarray,
    probability: np.ndarray,
    *,
    settled: np.ndarray,
    configured_lower: float,
    lower: float,
    upper: float,
) -> dict[str, int]:
    """Possible-match tasks the labels removed and added: pairs EM's model alone would send to
    review (between the configured ``lower`` and ``upper``) and the taught model does not (now
    merged, or under the threshold the labels support), and the reverse. ``settled``: pairs
    no model moves (decided by a steward, or never merged: a cannot-link or two different
    ids), left out. Counted by score, before clustering joins a pair through others."""
    em = (em_probability >= configured_lower) & (em_probability < upper) & ~settled
    taught = (probability >= lower) & (probability < upper) & ~settled
    removed = em & ~taught
    return {
        "em_review": int(em.sum()),
        "taught_review": int(taught.sum()),
        "removed": int(removed.sum()),
        "removed_merged": int((removed & (probability >= upper)).sum()),
        "removed_below_lower": int((removed & (probability < lower)).sum()),
        "added": int((taught & ~em).sum()),
    }


def label_summary(parameters: dict[str, Any], *, changes: int = 8) -> dict[str, Any]:
    """What the labels did, for a run's summary and report: counts, the threshold, the
    held-out check, the possible-match tasks they removed and added (``review``) and the level
    weights that moved most (bits, before and after)."""
    labels = parameters.get("labels")
    if not labels or not labels.get("matches", 0) + labels.get("non_matches", 0):
        return {}
    moved = [
        {
            "comparison": name,
            "level": level_name,
            "before": before,
            "after": after,
        }
        for name, befores in labels["weights_before"].items()
        for level_name, before, after in zip(
            parameters["comparisons"][name]["levels"],
            befores,
            labels["weights_after"][name],
            strict=True,
        )
        if abs(after - before) >= 0.01
    ]
    moved.sort(key=lambda change: -abs(change["after"] - change["before"]))
    keys = (
        "matches",
        "non_matches",
        "training_matches",
        "held_out",
        "lower",
        "held_out_check",
        "review",
    )
    return {
        **{key: labels[key] for key in keys if key in labels},
        "weight_changes": moved[:changes],
    }
