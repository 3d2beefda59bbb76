"""An audit of automatic merges: a seeded sample of the pairs a run merged without a steward,
stratified by match weight, and the precision those verdicts support.

A run's automatic merges are its scored pairs at or above the upper threshold that ended in one
customer, leaving out pairs a steward decided. They fall into BANDS of bits above the upper
threshold's weight: wrong merges gather just above the threshold, so the sample is spread
evenly over the bands (equal allocation, a band's unused share going to the others) rather than
in proportion to their sizes, where nearly every draw would land among the certain id matches.

Each band's pairs are ranked by a keyed hash of their two record keys (the seed is the key),
and the first of each band are drawn: the same pairs on every run over the same data, and a
pair stays drawn while it stays in its band, so a verdict carries over from run to run.

``estimate_precision`` weighs each band's share of correct verdicts by the band's size (the
stratified estimator) and gives a 95% Wilson interval on the effective sample size (Korn and
Graubard's method for complex samples; see the function).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching.profile import match_weight

# band edges in bits above the upper threshold's weight: 0-4, 4-8, 8-16, 16 and more
BAND_EDGES = (0.0, 4.0, 8.0, 16.0)
DEFAULT_SAMPLE = 30  # pairs a run audits (matching.yaml audit.sample_size; 0: no audit)
MIN_VERDICTS = 10  # below this many verdicts a run's precision is "not enough verdicts"
Z_95 = 1.959963984540054


def band_of(weights: np.ndarray, upper: float) -> np.ndarray:
    """The band (0 = just above the threshold) of each automatic merge's weight."""
    above = weights - match_weight(upper)
    return np.searchsorted(np.asarray(BAND_EDGES[1:]), above, side="right")


def band_labels(upper: float) -> list[dict[str, Any]]:
    """Each band's weights, for the report: ``low`` and ``high`` (None: no end)."""
    start = match_weight(upper)
    ends = [*BAND_EDGES[1:], None]
    return [
        {
            "band": band,
            "low": round(start + low, 2),
            "high": None if high is None else round(start + high, 2),
        }
        for band, (low, high) in enumerate(zip(BAND_EDGES, ends, strict=True))
    ]


_SAMPLED = ("left_key", "right_key", "match_weight", "match_probability")  # what a draw keeps


def automatic_merges(
    pairs: pd.DataFrame, *, upper: float, decided: Iterable[tuple[str, str]] = ()
) -> pd.DataFrame:
    """The pairs the run merged on their score alone: at or above ``upper``, in one customer,
    neither proposed only for a steward's decision nor decided by one."""
    automatic = (
        (pairs["decision"] == "match")
        & (pairs["match_probability"] >= upper)
        & (pairs["rules"] != "steward")  # a categorical compares codes, not a string per pair
    ).to_numpy()
    # the columns the sample reads, not a copy of every merged pair's row
    merged = pairs.loc[automatic, [c for c in pairs.columns if c in _SAMPLED]]
    decided_keys = {f"{a}|{b}" for pair in decided for a, b in [sorted(pair)]}
    if decided_keys:
        keys = merged["left_key"].astype(str) + "|" + merged["right_key"].astype(str)
        merged = merged[~keys.isin(decided_keys).to_numpy()]
    return merged


_RANK_CHUNK = 1 << 18  # pairs whose "left|right" texts are made at once


def _ranks(merged: pd.DataFrame, seed: int) -> np.ndarray:
    hash_key = f"{seed:016d}"[-16:]  # pandas wants 16 characters
    ranks = np.empty(len(merged), dtype=np.uint64)
    # A chunk at a time: each value hashes alone, and the texts of millions of merged pairs at
    # once took hundreds of megabytes.
    for start in range(0, len(merged), _RANK_CHUNK):
        chunk = merged.iloc[start : start + _RANK_CHUNK]
        keys = (chunk["left_key"].astype(str) + "|" + chunk["right_key"].astype(str)).to_numpy()
        ranks[start : start + len(chunk)] = pd.util.hash_array(
            keys.astype(object), hash_key=hash_key
        )
    return ranks


def allocate(populations: Sequence[int], sample_size: int) -> list[int]:
    """Pairs drawn per band: as even as the bands' sizes allow, all of them in all."""
    take = [0] * len(populations)
    left = min(sample_size, sum(populations))
    while left > 0:
        open_bands = [b for b, n in enumerate(populations) if take[b] < n]
        share = max(left // len(open_bands), 1)
        for band in open_bands:
            extra = min(share, populations[band] - take[band], left)
            take[band] += extra
            left -= extra
            if not left:
                break
    return take


@dataclass(frozen=True)
class AuditSample:
    """The drawn pairs (``pairs``: left_key, right_key, match_weight, match_probability, band;
    indexed as the run's pairs) and every band's size (``bands``: band, low, high, population,
    sampled)."""

    pairs: pd.DataFrame
    bands: list[dict[str, Any]]

    def counts(self, sample_size: int, seed: int) -> dict[str, Any]:
        """What pipeline_run.counts keeps of it (counts only)."""
        return {
            "sample_size": sample_size,
            "seed": seed,
            "merges": sum(b["population"] for b in self.bands),
            "bands": self.bands,
        }


def sample_merges(merged: pd.DataFrame, *, upper: float, size: int, seed: int) -> AuditSample:
    """A stratified sample of ``size`` automatic merges (see the module docstring)."""
    band = band_of(merged["match_weight"].to_numpy(dtype=float), upper)
    populations = np.bincount(band, minlength=len(BAND_EDGES)).tolist()
    take = allocate(populations, size)
    order = np.lexsort((_ranks(merged, seed), band))  # by band, then by hash rank
    ranked = band[order]
    starts = np.searchsorted(ranked, np.arange(len(BAND_EDGES)))
    rows = np.concatenate(
        [order[start : start + n] for start, n in zip(starts, take, strict=True)]
    ).astype(np.int64)
    drawn = merged.iloc[rows][list(_SAMPLED)]
    drawn = drawn.assign(band=band[rows])  # indexed as in ``merged``: the pairs' own rows
    bands = [
        {**label, "population": int(populations[b]), "sampled": int(take[b])}
        for b, label in enumerate(band_labels(upper))
    ]
    return AuditSample(drawn, bands)


@dataclass(frozen=True)
class Precision:
    """Estimated precision of a run's automatic merges, or why there is none yet."""

    verdicts: int  # pairs a steward answered
    correct: int  # of them, the same person
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    reason: str | None = None  # why there is no estimate


def wilson(p: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``p`` on ``n`` trials (n may be fractional)."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def estimate_precision(
    bands: Sequence[dict[str, Any]], *, min_verdicts: int = MIN_VERDICTS
) -> Precision:
    """Stratified precision from per-band ``population``, ``verdicts`` and ``correct``.

    p = Σ W_h p_h with W_h = N_h / N; its variance Σ W_h² p_h (1 - p_h) / n_h · (1 - n_h / N_h)
    (without replacement). The interval is Wilson's at the effective sample size
    n* = p (1 - p) / variance, capped at the verdicts' count; where the variance is 0 (every
    band all right or all wrong) n* is the number of verdicts, so an all-correct audit of 30
    pairs reads 1.0 with a lower bound near 0.89, not a certainty. Every band holding merges
    needs a verdict, and there must be ``min_verdicts`` in all.
    """
    verdicts = sum(int(b.get("verdicts", 0)) for b in bands)
    correct = sum(int(b.get("correct", 0)) for b in bands)
    populated = [b for b in bands if b.get("population", 0) > 0]
    total = sum(b["population"] for b in populated)
    if not populated:
        return Precision(verdicts, correct, reason="no automatic merges")
    unanswered = [b for b in populated if not b.get("verdicts")]
    if verdicts < min_verdicts or unanswered:
        need = f"{verdicts} of at least {min_verdicts}"
        if unanswered:
            need += f"; {len(unanswered)} band(s) without a verdict"
        return Precision(verdicts, correct, reason=f"not enough verdicts ({need})")
    estimate = variance = 0.0
    for band in populated:
        weight, n = band["population"] / total, band["verdicts"]
        share = band["correct"] / n
        estimate += weight * share
        fpc = max(0.0, 1.0 - n / band["population"])
        variance += weight * weight * share * (1 - share) / n * fpc
    effective = float(verdicts)
    if variance > 0:
        effective = min(estimate * (1 - estimate) / variance, float(verdicts))
    low, high = wilson(estimate, effective)
    return Precision(verdicts, correct, estimate, low, high)
