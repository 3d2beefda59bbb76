"""Training: u, m and λ of the Fellegi-Sunter model, estimated from the records themselves.

- u from a seeded sample of random record pairs, less the matches the sample holds; the exact
  levels of identifiers, names, dates and addresses instead from all-pairs value counts.
- m by EM over the candidate pairs, each pair teaching only comparisons that the blocking rules
  which proposed it left free, started from pairs that share an identifier; two different valid
  resident ids are never counted as one person.
- λ, the chance that two random records match, over all n(n-1)/2 pairs.

A degenerate fit (λ at its floor, every weight about 0, a comparison that no pair could teach)
is reported in ``parameters["model_check"]`` and on stderr, and falls back to DEFAULT MODEL
below rather than merging nothing.

Priors, all weak and stated where used: a ½ pseudo-count per level for u (Jeffreys), an m prior
centred on u, and m ∝ 4^level within each mode for a comparison no identifier pair can teach.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching.blocking import BlockingRule
from mdm.matching.compare import COMPARISON_MODES, COMPARISONS, LEVEL_MODES, compare, level
from mdm.matching.features import Features
from mdm.matching.labels import Labels, with_labels
from mdm.matching.model import TermFrequencies, level_weights, log2_ratio

PSEUDO_COUNT = 0.5
NEVER_MATCHES = {
    ("id", "conflict"),  # two different valid resident ids
    # One family name, two given names that neither sound alike nor are nicknames: spouses,
    # parents and children, who share an address and a phone so often that EM would otherwise
    # take a household for one person (SPEC §4).
    ("name", "latin_family_only"),
}
TF_RESOLUTION = 0.05  # bits: pairs whose term-frequency adjustments differ less train as one
LAMBDA_FLOOR = 1e-12
FLAT_WEIGHT = 0.5  # bits: a model whose every level weighs less than this has learnt nothing

# DEFAULT MODEL, used where the data teach nothing: m ∝ 4^level within each mode (the most
# similar level of a mode about three quarters of one person's pairs, each step down a quarter
# of the one above), u from random pairs as always, and λ = 1/n (each record expects one other
# record of its person). Two records that agree exactly on name and birth date then merge, a
# name alone does not.

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSettings:
    u_sample_pairs: int = 1_000_000
    max_iterations: int = 200
    tolerance: float = 1e-3  # bits: the largest change of any level weight at convergence
    seed: int = 0
    # compare.CUTOFFS moved by a matching.yaml, so random pairs are compared as candidates are
    cutoffs: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def _smoothed(counts: np.ndarray) -> np.ndarray:
    return (counts + PSEUDO_COUNT) / (counts.sum() + PSEUDO_COUNT * len(counts))


def m_from_counts(name: str, counts: np.ndarray, u: np.ndarray) -> np.ndarray:
    """m from expected match counts, with a prior centred on u: a level (or a whole mode) that
    training pairs never reach weighs about 0, where a uniform prior would let a level rare
    among random pairs (two identical addresses) weigh 17 bits on no evidence at all.

    Levels in NEVER_MATCHES keep only the prior: the SPEC knows them to be two people, and
    letting EM count matches there lets it explain a block of strangers as one person each.
    """
    counts = counts.copy()
    for comparison, level_name in NEVER_MATCHES:
        if comparison == name:
            counts[level(comparison, level_name)] = 0.0
    prior = PSEUDO_COUNT * len(counts)
    return (counts + prior * u) / (counts.sum() + prior)


def _level_counts(levels: np.ndarray, n_levels: int, weights: np.ndarray) -> np.ndarray:
    present = levels >= 0
    return np.bincount(levels[present], weights=weights[present], minlength=n_levels)


def random_pairs(n: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random distinct-record pairs, or every pair when there are no more than that."""
    if n * (n - 1) // 2 <= count:
        left, right = np.triu_indices(n, k=1)
        return left.astype(np.int64), right.astype(np.int64)
    rng = np.random.default_rng(seed)
    left = rng.integers(0, n, size=count, dtype=np.int64)
    right = rng.integers(0, n, size=count, dtype=np.int64)
    distinct = left != right
    return left[distinct], right[distinct]


def random_pair_counts(features: Features, settings: TrainingSettings) -> dict[str, np.ndarray]:
    """How many random pairs fall on each level, per comparison (null pairs not counted)."""
    left, right = random_pairs(features.size, settings.u_sample_pairs, settings.seed)
    # Draw by record_key order, so the sample does not depend on how the rows were sorted.
    by_key = np.argsort(features.rank)
    levels = compare(features, by_key[left], by_key[right], settings.cutoffs)
    ones = np.ones(len(left))
    return {
        name: _level_counts(levels[name].to_numpy(), len(labels), ones)
        for name, labels in COMPARISONS.items()
    }


def u_from_counts(counts: np.ndarray, m: np.ndarray | None = None, lam: float = 0.0) -> np.ndarray:
    """u from random-pair counts, less the λ·m share the sample's true matches account for.

    Random pairs are not all non-matches: for a unique identifier nearly every random pair that
    agrees is the same person, so the raw share would make an exact id or phone look common.
    """
    if m is not None:
        counts = np.maximum(counts - counts.sum() * lam * m, 0.0)
    return _smoothed(counts)


@dataclass(frozen=True)
class Sharing:
    """All-pairs counts of an exact-agreement level: pairs sharing a value, pairs in its mode."""

    sharing: float
    in_mode: float


def _everyone(f: Features) -> list[np.ndarray]:
    return [np.ones(f.size, dtype=bool)]


@dataclass(frozen=True)
class Counted:
    """How to count an exact level over all pairs: the Features field holding the value, the
    record groups whose within-group pairs make up the level's mode, and whether the pairs
    believed matched come off (identifiers only: see COUNTED_LEVELS)."""

    field: str
    groups: Callable[[Features], list[np.ndarray]]
    identifier: bool


# Exact-agreement levels whose u is counted over all record pairs instead of sampled: a sample
# of a million pairs cannot resolve the 1e-7 chance that two strangers share a phone, and at a
# million records its noise alone moves such a weight by bits. Strangers share an id, e-mail or
# phone so rarely that nearly all sharing pairs are one person, and those come off. Namesakes,
# same-day births and households share the others so often that taking off what the model
# believes would feed its belief: fewer strangers sharing makes sharing weigh more.
COUNTED_LEVELS: dict[tuple[str, str], Counted] = {
    ("name", "exact"): Counted(
        "name", lambda f: [~f.partial & f.hanzi, ~f.partial & ~f.hanzi], identifier=False
    ),
    ("id", "exact"): Counted("id_number", _everyone, identifier=True),
    ("birth_date", "exact"): Counted("birth_date", _everyone, identifier=False),
    ("mobile", "exact"): Counted("mobile", _everyone, identifier=True),
    ("email", "exact"): Counted("email", _everyone, identifier=True),
    ("address", "exact"): Counted("address", _everyone, identifier=False),
}


def sharing_counts(features: Features) -> dict[tuple[str, str], Sharing]:
    out = {}
    for key, counted in COUNTED_LEVELS.items():
        codes = getattr(features, counted.field).codes
        sharing = in_mode = 0.0
        for group in counted.groups(features):
            present = codes[group & (codes >= 0)]
            per_value = np.bincount(present).astype(np.float64)
            sharing += float((per_value * (per_value - 1) / 2).sum())
            in_mode += len(present) * (len(present) - 1) / 2
        out[key] = Sharing(sharing, in_mode)
    return out


def _set_within_mode(u: np.ndarray, modes: np.ndarray, at: int, share: float) -> np.ndarray:
    """u with level ``at`` taking ``share`` of its mode, the mode's other levels the rest."""
    others = modes == modes[at]
    others[at] = False
    total = u[modes == modes[at]].sum()
    out = u.copy()
    out[others] *= (1 - share) * total / u[others].sum()
    out[at] = share * total
    return out


def counted_u(
    u: dict[str, np.ndarray],
    sharing: dict[tuple[str, str], Sharing],
    matched: dict[tuple[str, str], float],
) -> dict[str, np.ndarray]:
    """u with each counted level's share of its mode set from all-pairs counts: the pairs
    sharing a value, less those the model takes for one person, over the pairs in the mode."""
    out = dict(u)
    for (name, level_name), counts in sharing.items():
        at = level(name, level_name)
        modes = LEVEL_MODES[name]
        strangers = max(counts.sharing - matched.get((name, level_name), 0.0), 0.0)
        size = int((modes == modes[at]).sum())
        share = (strangers + PSEUDO_COUNT) / (counts.in_mode + PSEUDO_COUNT * size)
        out[name] = _set_within_mode(out[name], modes, at, share)
    return out


def _initial_m(name: str) -> np.ndarray:
    """m ∝ 4^level within each mode, the modes weighing alike."""
    modes = [4.0 ** np.arange(len(levels)) for levels in COMPARISON_MODES[name].values()]
    prior = np.concatenate([weights / weights.sum() for weights in modes])
    return prior / prior.sum()


@dataclass(frozen=True)
class TrainingPairs:
    """Candidate pairs grouped by comparison vector and by which comparisons each may teach.

    A pair teaches a comparison's m only if some rule that proposed it leaves that comparison
    free: pairs found because their names agree say nothing about how often one person's names
    agree. Pairs only a steward proposed do not train at all.
    """

    levels: np.ndarray  # (rows, comparisons) level codes
    teaches: np.ndarray  # (rows, comparisons)
    identified: np.ndarray  # (rows,) proposed by an identifier rule (same id, same e-mail)
    frequency: np.ndarray  # (rows,) term-frequency adjustment, bits, to TF_RESOLUTION
    counts: np.ndarray  # candidate pairs per row


def training_pairs(
    levels: pd.DataFrame,
    rule_mask: np.ndarray,
    rules: tuple[BlockingRule, ...],
    frequency: np.ndarray,
) -> TrainingPairs:
    """Group the pairs; ``frequency`` is each pair's total term-frequency adjustment in bits."""
    names = list(COMPARISONS)
    free = [sum(1 << bit for bit, r in enumerate(rules) if n not in r.implicates) for n in names]
    identified = (rule_mask & sum(1 << bit for bit, r in enumerate(rules) if r.identifier)) != 0
    proposed = np.flatnonzero(rule_mask & ((1 << len(rules)) - 1))
    # Each comparison packs into 5 bits, level + 1 (at most 15) and its teaches flag; then one
    # bit for an identifier rule, and 16 for the term-frequency adjustment in TF_RESOLUTION steps.
    # A comparison at a time: an int64 matrix of every pair's levels, and each step's copy of
    # it, came to a gigabyte at a million records; only the distinct rows' are kept.
    packed = np.zeros(len(levels), dtype=np.int64)
    for k, (name, bits) in enumerate(zip(names, free, strict=True)):
        code = ((levels[name].to_numpy().astype(np.int64) + 1) << 1) | ((rule_mask & bits) != 0)
        packed += code << (5 * k)
    del code
    steps = np.round(frequency / TF_RESOLUTION).astype(np.int64)
    packed = (((packed << 1) | identified) << 16) | (steps + (1 << 15))
    _, first, counts = np.unique(packed[proposed], return_index=True, return_counts=True)
    del packed
    rows = proposed[first]
    kept_mask = rule_mask[rows]
    return TrainingPairs(
        np.stack([levels[name].to_numpy()[rows] for name in names], axis=1).astype(np.int64),
        np.stack([(kept_mask & bits) != 0 for bits in free], axis=1),
        identified[rows],
        steps[rows] * TF_RESOLUTION,
        counts.astype(np.float64),
    )


def _identified_m(pairs: TrainingPairs, u: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """EM's start: m as counted on pairs that share an identifier, taken as matches.

    Households share a phone and an address; from a blind start those two agreements alone
    make spouses look like one person, and EM then learns that a different name and gender are
    common among matches. Pairs sharing an id or an e-mail are one person almost always, so
    they give a start on the right side of that divide. A comparison they cannot teach starts
    from m ∝ 4^level within each mode.
    """
    m = {}
    for k, name in enumerate(COMPARISONS):
        rows = pairs.identified & pairs.teaches[:, k]
        counts = _level_counts(pairs.levels[rows, k], len(u[name]), pairs.counts[rows])
        m[name] = m_from_counts(name, counts, u[name]) if counts.sum() > 0 else _initial_m(name)
    return m


def _log_bayes_factors(
    pairs: TrainingPairs, m: dict[str, np.ndarray], u: dict[str, np.ndarray]
) -> np.ndarray:
    table = log2_ratio(m, u)
    levels = pairs.levels
    return pairs.frequency + sum(table[n][levels[:, k] + 1] for k, n in enumerate(COMPARISONS))


def _posterior(log_bf: np.ndarray, lam: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp2(-(np.log2(lam / (1 - lam)) + log_bf)))


def _prior_fixed_point(pairs: TrainingPairs, log_bf: np.ndarray, all_pairs: float) -> float:
    """The λ consistent with the starting weights: λ = Σ P(match | λ) / all pairs.

    EM moves λ only slowly, and a start far above it (say, the share of pairs that are
    candidates, a quarter when one name+city block holds most records) first teaches m from
    strangers, a detour EM may not finish.
    """
    lam = 0.5
    for _ in range(1000):
        new = _next_lambda(pairs.counts * _posterior(log_bf, lam), all_pairs)
        if abs(new - lam) <= 1e-9 * lam:
            return new
        lam = new
    return lam


def _next_lambda(matched: np.ndarray, all_pairs: float) -> float:
    return float(np.clip(matched.sum() / all_pairs, LAMBDA_FLOOR, 0.5))


@dataclass(frozen=True)
class Fitted:
    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    lam: float  # P(two random records match)
    iterations: int
    converged: bool


def expectation_maximisation(
    pairs: TrainingPairs,
    sample_counts: dict[str, np.ndarray],
    sharing: dict[tuple[str, str], Sharing],
    n_records: int,
    settings: TrainingSettings,
) -> Fitted:
    """EM over all n(n-1)/2 record pairs, the non-candidates being certain non-matches.

    E-step: each candidate pair's P(match) from every comparison and the random-pair prior λ.
    M-step: m of each comparison from the pairs that may teach it; λ = Σ P(match) / all pairs;
    u from the random sample less its expected matches, exact levels from all-pairs counts
    (identifiers less the pairs believed matched). A per-rule λ (Splink's sessions) let a
    block of strangers who share a name be called all matches when few comparisons tell them
    apart; one λ over all pairs, with every comparison in the E-step, holds them apart as long
    as some comparison does.
    """
    all_pairs = max(n_records * (n_records - 1) / 2, 1.0)
    names = list(COMPARISONS)
    u = counted_u({name: u_from_counts(sample_counts[name]) for name in names}, sharing, {})
    m = _identified_m(pairs, u)
    lam = _prior_fixed_point(pairs, _log_bayes_factors(pairs, m, u), all_pairs)
    previous = level_weights(m, u)
    iterations, converged = 0, False
    while iterations < settings.max_iterations and not converged:
        iterations += 1
        matched = pairs.counts * _posterior(_log_bayes_factors(pairs, m, u), lam)
        for k, name in enumerate(names):
            teaching = pairs.teaches[:, k]
            expected = _level_counts(pairs.levels[teaching, k], len(m[name]), matched[teaching])
            m[name] = m_from_counts(name, expected, u[name])
        lam = _next_lambda(matched, all_pairs)
        sampled = {name: u_from_counts(sample_counts[name], m[name], lam) for name in names}
        believed = {
            key: float(matched[pairs.levels[:, names.index(key[0])] == level(*key)].sum())
            for key in sharing
            if COUNTED_LEVELS[key].identifier
        }
        u = counted_u(sampled, sharing, believed)
        weights = level_weights(m, u)
        converged = max(np.abs(weights[n] - previous[n]).max() for n in names) < settings.tolerance
        previous = weights
    return Fitted(m, u, lam, iterations, converged)


def _untaught(pairs: TrainingPairs, levels: pd.DataFrame) -> list[str]:
    """Comparisons that candidate pairs can compare (some non-null level) but none may teach."""
    out = []
    for k, name in enumerate(COMPARISONS):
        compared = bool((levels[name].to_numpy() >= 0).any())
        taught = pairs.counts[pairs.teaches[:, k] & (pairs.levels[:, k] >= 0)].sum()
        if compared and taught == 0:
            out.append(name)
    return out


def _collapse(fitted: Fitted) -> list[str]:
    """Why the fit as a whole taught nothing: λ at its floor, or every weight about 0."""
    reasons = []
    if fitted.lam <= LAMBDA_FLOOR * 10:
        reasons.append(f"lambda at its floor ({fitted.lam:.1e}): EM found no matches")
    weights = level_weights(fitted.m, fitted.u)
    if max(float(np.abs(w).max()) for w in weights.values()) < FLAT_WEIGHT:
        reasons.append(f"every level weight within {FLAT_WEIGHT} bit of 0")
    return reasons


def model_check(collapse: list[str], untaught: list[str]) -> dict[str, Any]:
    """``{"degenerate": bool, "reasons": [...]}``: what makes the fitted model unusable."""
    reasons = collapse + [f"{name}: no teaching pairs" for name in untaught]
    return {"degenerate": bool(reasons), "reasons": reasons}


def fallback(fitted: Fitted, *, collapsed: bool, untaught: list[str], n: int) -> Fitted:
    """The DEFAULT MODEL where the fit taught nothing: every comparison when it collapsed (λ at
    its floor or all weights flat), else only the comparisons no pair could teach."""
    names = list(COMPARISONS) if collapsed else untaught
    m = {**fitted.m, **{name: _initial_m(name) for name in names}}
    lam = 1.0 / max(n, 2) if collapsed else fitted.lam
    return replace(fitted, m=m, lam=lam)


def fit(
    features: Features,
    levels: pd.DataFrame,
    tf: TermFrequencies,
    rule_mask: np.ndarray,
    rules: tuple[BlockingRule, ...],
    settings: TrainingSettings,
    *,
    labels: Labels | None = None,
) -> dict[str, Any]:
    """Train u, m and λ; the result is JSON-serializable and is all ``score`` needs.

    ``labels``: candidate pairs a steward decided; their matches blend into m after EM
    (mdm/matching/labels.py).

    Unlike Splink, EM sees term frequencies: without them every pair of strangers called 张伟
    in one city carries the average name's weight, and enough of them teach EM that one
    person's phones and birth dates often differ.
    """
    frequency = np.sum(list(tf.adjustment.values()), axis=0)
    pairs = training_pairs(levels, rule_mask, rules, frequency)
    fitted = expectation_maximisation(
        pairs,
        random_pair_counts(features, settings),
        sharing_counts(features),
        features.size,
        settings,
    )
    collapse, untaught = _collapse(fitted), _untaught(pairs, levels)
    check = model_check(collapse, untaught)
    if check["degenerate"]:
        logger.warning("matching model degenerate: %s", "; ".join(check["reasons"]))
        fitted = fallback(fitted, collapsed=bool(collapse), untaught=untaught, n=features.size)
    weights = level_weights(fitted.m, fitted.u)
    parameters = {
        "lambda": fitted.lam,
        "model_check": check,
        "comparisons": {
            name: {
                "levels": list(labels),
                "modes": [list(COMPARISON_MODES[name])[i] for i in LEVEL_MODES[name]],
                "m": fitted.m[name].tolist(),
                "u": fitted.u[name].tolist(),
                "weight": weights[name].tolist(),
                "teaching_pairs": int(pairs.counts[pairs.teaches[:, k]].sum()),
            }
            for k, (name, labels) in enumerate(COMPARISONS.items())
        },
        "term_frequency_agreement": tf.agreement,
        "training": {
            "records": features.size,
            "candidate_pairs": len(levels),
            "u_sample_pairs": settings.u_sample_pairs,
            "seed": settings.seed,
            "em_iterations": fitted.iterations,
            "em_converged": bool(fitted.converged),
        },
    }
    return parameters if labels is None else with_labels(parameters, levels, tf, labels)
